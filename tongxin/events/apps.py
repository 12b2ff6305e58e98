from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class EventsConfig(AppConfig):
    name = "tongxin.events"
    label = "events"
    verbose_name = "事件诉求"

    def ready(self) -> None:
        # The grids map colours grids by any registered measure; events bring two.
        try:
            from tongxin.grids.measures import register_measure
        except ImportError:  # the map is optional for the workflow
            return
        from tongxin.events.selectors import open_events_by_grid

        register_measure(
            "events_open", _("未办结事件"), open_events_by_grid, unit=_("件"), order=40
        )
        register_measure(
            "events_overdue",
            _("超时事件"),
            lambda ids: open_events_by_grid(ids, overdue_only=True),
            unit=_("件"),
            order=50,
        )
