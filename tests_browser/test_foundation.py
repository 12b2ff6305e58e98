"""A community secretary signs in and browses the organization tree of the demo district."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.core.management import call_command

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def demo_district():
    call_command("seed_demo", seed=2019, verbosity=0)


def login(page, live_server, username: str) -> None:
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", settings.DEMO_PASSWORD)
    page.click("button[type=submit]")


def test_community_admin_logs_in_and_opens_the_tree(page, live_server, demo_district, shot):
    page.goto(f"{live_server.url}/")
    assert "/accounts/login/" in page.url, "anonymous visitors are sent to the login page"
    shot(page, "01-login")

    login(page, live_server, "demo_community")
    page.wait_for_selector("text=社区管理员")
    shot(page, "02-home")

    page.click("nav .dropdown-toggle:has-text('组织体系')")
    page.click("nav .dropdown-menu >> text=组织体系")
    page.wait_for_selector("text=文献社区")
    body = page.inner_text("main")
    assert "文献第1网格" in body
    assert "东梅社区" not in body, "a community admin does not see the sibling community"
    shot(page, "03-tree")

    # children load lazily when a grid is opened
    page.click("summary:has-text('文献第1网格')")
    page.wait_for_selector("text=文献第1网格1号楼片")
    shot(page, "04-tree-expanded")

    page.fill("input[name=q]", "东梅")
    page.keyboard.press("Enter")
    page.wait_for_load_state("networkidle")
    assert "东梅社区" not in page.inner_text("main"), "search stays inside the user's scope"


def test_wrong_password_is_refused_with_a_chinese_message(page, live_server, demo_district):
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_username", "demo_community")
    page.fill("#id_password", "wrong-password")
    page.click("button[type=submit]")
    page.wait_for_selector(".alert-danger")
    assert "用户名或密码不正确" in page.inner_text(".alert-danger")


def test_phone_sized_screen_gets_the_collapsed_menu(browser, live_server, demo_district, shot):
    context = browser.new_context(locale="zh-CN", viewport={"width": 390, "height": 844})
    page = context.new_page()
    login(page, live_server, "demo_grid")
    page.wait_for_selector(".navbar-toggler")
    assert page.is_visible(".navbar-toggler")
    page.click(".navbar-toggler")
    page.wait_for_selector("#mainNav.show")
    shot(page, "05-phone-menu")
    context.close()
