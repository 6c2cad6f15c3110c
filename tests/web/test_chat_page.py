"""The web chat page in a real browser (Debian's Chromium driven by Playwright) against a real server."""

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from naviyam.db.models import FeedbackEvent
from naviyam.db.session import session_scope


@pytest.fixture
def page(server, browser):
    """A fresh tab on the chat page for every test: no test depends on what another one typed."""
    pg = browser.new_page(locale="ko-KR")
    pg.goto(server + "/")
    yield pg
    pg.close()


def ask(page, message: str) -> None:
    page.fill("#message", message)
    page.click("#send")
    expect(page.locator(".card").first).to_be_visible(timeout=20_000)


def test_a_child_can_ask_and_gets_cards_with_reasons(page, trained_world, tmp_path_factory):
    page.fill("#message", "급식카드 되는 분식집 추천해줘")
    page.click("#send")
    cards = page.locator(".card")
    expect(cards.first).to_be_visible(timeout=20_000)
    assert 1 <= cards.count() <= 3
    assert page.locator(".msg.user").last.inner_text() == "급식카드 되는 분식집 추천해줘"
    bubble = page.locator(".msg.bot").last.inner_text()
    # one or two sentences about the list; the cards carry the shops (their names are not repeated above them)
    assert ("곳" in bubble or "가게" in bubble) and len([x for x in bubble.replace("!", ".").split(".") if x.strip()]) <= 2
    names = [page.locator(".card h3").nth(i).inner_text().split(" · ")[0] for i in range(cards.count())]
    assert all(names) and not any(name in bubble for name in names)
    assert page.locator(".card .badges span", has_text="급식카드").count() == cards.count()
    assert all(page.locator(".card .reason").nth(i).inner_text() for i in range(cards.count()))
    page.screenshot(path=str(tmp_path_factory.mktemp("shots") / "chat.png"), full_page=True)

    shop_id = int(cards.first.get_attribute("data-shop-id"))
    cards.first.locator("button.fb-clicked").click()
    expect(cards.first.locator("button.fb-clicked")).to_be_disabled(timeout=10_000)
    with session_scope(trained_world.engine) as s:
        ev = s.scalars(select(FeedbackEvent).where(FeedbackEvent.shop_id == shop_id)
                       .order_by(FeedbackEvent.id.desc())).first()
        assert ev is not None and ev.feedback_type == "clicked" and ev.interaction_id is not None


def test_follow_up_suggestion_buttons_send_a_message(page):
    ask(page, "급식카드 되는 분식집 추천해줘")
    buttons = page.locator(".suggestions button")
    expect(buttons.first).to_be_visible()
    before = page.locator(".msg.user").count()
    text = buttons.first.inner_text()
    buttons.first.click()
    expect(page.locator(".msg.user")).to_have_count(before + 1, timeout=20_000)
    assert page.locator(".msg.user").last.inner_text() == text
    expect(page.locator(".msg.bot")).to_have_count(before + 2, timeout=20_000)


def test_an_error_is_shown_in_korean_not_as_a_crash(page):
    page.evaluate("document.getElementById('message').removeAttribute('maxlength')")
    page.fill("#message", "가" * 600)
    page.click("#send")
    expect(page.locator(".msg.error").last).to_be_visible(timeout=10_000)
    assert "요청 값이 올바르지 않아요" in page.locator(".msg.error").last.inner_text()
