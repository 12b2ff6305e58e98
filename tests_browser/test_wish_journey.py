"""A micro-wish from post to confirmation, on phones: the demo resident posts a wish, the
community admin approves it, the demo member claims and fulfils it, the resident confirms."""

from __future__ import annotations

import re

import pytest
from django.core.management import call_command

from tests_browser.test_foundation import login

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 390, "height": 844}
TITLE = "想要一台收音机听戏"


@pytest.fixture
def demo_district():
    call_command("seed_demo", seed=2019, verbosity=0)


def phone_page(browser, live_server, username: str):
    context = browser.new_context(locale="zh-CN", viewport=PHONE)
    page = context.new_page()
    page.set_default_timeout(15000)
    login(page, live_server, username)
    page.wait_for_selector("nav")
    return context, page


def state_of(page) -> str:
    return page.get_attribute("[data-testid=state-badge]", "data-state")


def test_a_wish_goes_from_post_to_confirmation(browser, live_server, demo_district, shot):
    # 1. the resident posts a wish from the phone
    context, page = phone_page(browser, live_server, "demo_resident")
    page.goto(f"{live_server.url}/outreach/")
    page.click("[data-testid=btn-wish-new]")
    page.fill("#id_title", TITLE)
    page.select_option("#id_category", "daily")
    page.fill("#id_description", "老伴喜欢听莆仙戏，家里的收音机坏了。")
    page.click("[data-testid=btn-submit]")
    page.wait_for_selector("text=心愿已提交，等待社区审核")
    assert state_of(page) == "pending"
    detail = page.url
    assert re.search(r"/outreach/wishes/\d+/$", detail)
    shot(page, "wish-01-posted")
    context.close()

    # 2. the community admin approves it: it goes up on the wall
    context, page = phone_page(browser, live_server, "demo_community")
    page.goto(f"{live_server.url}/outreach/wishes/manage/")
    page.click(f"text={TITLE}")
    page.click("[data-testid=move-approve]")
    page.wait_for_selector("text=已审核通过")
    assert state_of(page) == "open"
    shot(page, "wish-02-approved")
    context.close()

    # 3. a party member finds it on the wall, claims it and fulfils it
    context, page = phone_page(browser, live_server, "demo_member")
    page.goto(f"{live_server.url}/outreach/wishes/")
    page.click(f"[data-testid=wish-wall] >> text={TITLE}")
    assert "吴**" in page.inner_text("main"), "the wall does not name the resident"
    page.click("[data-testid=move-claim]")
    page.wait_for_selector("text=已认领。")
    assert state_of(page) == "claimed"
    shot(page, "wish-03-claimed")
    page.fill("#evidence", "已买好新收音机送到老人家中，并教会调台。")
    page.click("[data-testid=move-fulfil]")
    page.wait_for_selector("text=已兑现。")
    assert state_of(page) == "fulfilled"
    shot(page, "wish-04-fulfilled")
    context.close()

    # 4. the resident confirms: 圆梦
    context, page = phone_page(browser, live_server, "demo_resident")
    page.goto(detail)
    assert "已买好新收音机" in page.inner_text("[data-testid=evidence]")
    page.click("[data-testid=move-confirm]")
    page.wait_for_selector("text=已确认圆梦。")
    assert state_of(page) == "confirmed"
    history = page.inner_text("[data-testid=history]")
    for action in ("发布心愿", "审核通过", "认领", "兑现", "确认圆梦"):
        assert action in history
    shot(page, "wish-05-confirmed")
    context.close()
