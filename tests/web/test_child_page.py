"""What a child sees on the page: a short bubble, cards with the details, the crisis answer; phone and desktop."""

import datetime as dt

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from naviyam.db.models import User
from naviyam.db.session import session_scope
from naviyam.service.policy import per_meal_amount


@pytest.fixture(scope="module")
def card_child(trained_world):
    with session_scope(trained_world.engine) as s:
        u = next(u for u in s.scalars(select(User).where(User.is_meal_card_holder.is_(True)).order_by(User.id))
                 if (dt.date(2026, 11, 27) - u.birthday).days // 365 <= 13)
        return u.id, per_meal_amount(s, u.district)


@pytest.mark.parametrize("size", [(390, 844), (1280, 900)], ids=["phone", "desktop"])
def test_card_holders_first_answer_fits_the_card_on_phone_and_desktop(server, browser, card_child, size,
                                                                        tmp_path_factory):
    uid, per_meal = card_child
    page = browser.new_page(locale="ko-KR", viewport={"width": size[0], "height": size[1]})
    page.goto(server + "/")
    page.evaluate("(v) => { document.getElementById('user-id').value = v; }", str(uid))
    page.fill("#message", "배고파 뭐 먹지")
    page.click("#send")
    cards = page.locator(".card")
    expect(cards.first).to_be_visible(timeout=20_000)
    bubble = page.locator(".msg.bot").last.inner_text()
    assert bubble.count("\n") <= 2 and "1." not in bubble  # sentences, not a repeated list
    for i in range(cards.count()):
        card = cards.nth(i)
        assert card.locator(".badges span", has_text="급식카드").count() == 1
        dishes = card.locator(".dishes").inner_text()
        assert dishes.startswith("먹을 수 있는 메뉴")
        assert card.bounding_box()["width"] <= size[0]
    page.screenshot(path=str(tmp_path_factory.mktemp("shots") / f"child-{size[0]}.png"), full_page=True)
    page.close()


def test_the_crisis_answer_in_the_page_has_the_helplines_and_no_cards(server, browser):
    page = browser.new_page(locale="ko-KR", viewport={"width": 390, "height": 844})
    page.goto(server + "/")
    page.fill("#message", "너무 힘들어 죽고 싶어")
    page.click("#send")
    bot = page.locator(".msg.bot")
    expect(bot).to_have_count(2, timeout=20_000)
    text = bot.last.inner_text()
    assert all(n in text for n in ("1388", "109", "112"))
    assert page.locator(".card").count() == 0
    page.close()
