from django.urls import reverse

from tongxin.core.context_processors import NAV


def test_every_navigation_entry_leads_to_a_page():
    for group in NAV:
        for item in group.items:
            assert reverse(item.url_name)
