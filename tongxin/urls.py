"""Root URL map. Every view reached from here declares its access policy (core/policy.py)."""

from django.urls import include, path
from django.views.i18n import set_language
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from tongxin.accounts import api as accounts_api
from tongxin.cobuild import api as cobuild_api
from tongxin.core import import_api as core_import_api
from tongxin.core import views as core_views
from tongxin.core.policy import PUBLIC, policy
from tongxin.events import api as events_api
from tongxin.grids import api as grids_api
from tongxin.notify import api as notify_api
from tongxin.orgs import api as orgs_api
from tongxin.outreach import api as outreach_api
from tongxin.people import api as people_api

api_v1 = [
    *accounts_api.urlpatterns,
    *orgs_api.urlpatterns,
    *notify_api.urlpatterns,
    *core_import_api.urlpatterns,
    *people_api.urlpatterns,
    *grids_api.urlpatterns,
    *events_api.urlpatterns,
    *cobuild_api.urlpatterns,
    *outreach_api.urlpatterns,
]


class PublicSchemaView(SpectacularAPIView):
    tongxin_policy = PUBLIC


class PublicSwaggerView(SpectacularSwaggerView):
    tongxin_policy = PUBLIC


urlpatterns = [
    path("", include("tongxin.core.urls")),
    path("healthz", core_views.healthz, name="healthz"),
    path("accounts/", include("tongxin.accounts.urls")),
    path("orgs/", include("tongxin.orgs.urls")),
    path("notify/", include("tongxin.notify.urls")),
    path("people/", include("tongxin.people.urls")),
    path("grids/", include("tongxin.grids.urls")),
    path("events/", include("tongxin.events.urls")),
    path("cobuild/", include("tongxin.cobuild.urls")),
    path("open311/v2/", include("tongxin.events.open311")),
    path("outreach/", include("tongxin.outreach.urls")),
    # Django's own view: it only sets the language cookie, safe for anyone.
    path("i18n/setlang/", policy(PUBLIC)(set_language), name="set_language"),
    path("api/v1/", include(api_v1)),
    path("api/schema/", PublicSchemaView.as_view(), name="api-schema"),
    path("api/docs/", PublicSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
]
