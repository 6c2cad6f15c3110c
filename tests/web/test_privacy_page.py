"""In Chromium: a child without a guardian's consent sees one line saying what is not kept; /privacy explains it."""

import datetime as dt

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from naviyam.core.privacy import children_without_consent
from naviyam.db.models import User
from naviyam.db.session import session_scope


@pytest.fixture(scope="module")
def child_and_adult(trained_world):
    child = min(children_without_consent(trained_world.engine))
    with session_scope(trained_world.engine) as s:
        adult = next(u.id for u in s.scalars(select(User).order_by(User.id))
                     if (dt.date(2026, 11, 27) - u.birthday).days // 365 >= 30)
    return child, adult


def _ask(page, server, user_id, text="떡볶이 먹고 싶어"):
    page.goto(server + "/")
    page.evaluate("(v) => { document.getElementById('user-id').value = v; }", str(user_id))
    page.fill("#message", text)
    page.click("#send")
    expect(page.locator(".msg.bot")).to_have_count(2, timeout=20_000)


def test_a_child_without_consent_sees_the_notice_and_an_adult_does_not(server, browser, child_and_adult):
    child, adult = child_and_adult
    page = browser.new_page(locale="ko-KR", viewport={"width": 390, "height": 844})
    _ask(page, server, child)
    notice = page.locator("#privacy-notice")
    expect(notice).to_be_visible()
    assert "보호자" in notice.inner_text() and "저장하지 않아요" in notice.inner_text()
    assert notice.inner_text().count("\n") == 0 and notice.bounding_box()["width"] <= 390
    _ask(page, server, adult)  # a fresh page load: an adult's answer shows no notice
    expect(page.locator("#privacy-notice")).to_be_hidden()
    page.close()


def test_the_chat_page_links_to_the_privacy_page_in_plain_korean(server, browser):
    page = browser.new_page(locale="ko-KR", viewport={"width": 390, "height": 844})
    page.goto(server + "/")
    link = page.locator("#privacy-link")
    expect(link).to_be_visible()
    link.click()
    page.wait_for_url(server + "/privacy")
    expect(page.locator("h1")).to_contain_text("개인정보")
    assert "180일" in page.locator("#retention-text").inner_text()
    assert "보호자" in page.locator("#under14").inner_text()
    assert page.locator("#contact-text").inner_text().strip()
    page.click("text=나비얌과 이야기하러 가기")
    page.wait_for_url(server + "/")
    page.close()
