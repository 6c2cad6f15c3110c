"""/docs and /redoc render in Chromium with no network beyond the server (assets are served locally)."""

import pytest
from playwright.sync_api import expect


@pytest.fixture
def offline_page(server, browser):
    """A tab that may reach only the server: every other request (a CDN, fonts) is refused."""
    pg = browser.new_page(locale="ko-KR")
    refused: list[str] = []

    def only_the_server(route):
        if route.request.url.startswith(server):
            route.continue_()
        else:
            refused.append((route.request.resource_type, route.request.url))
            route.abort()

    pg.route("**/*", only_the_server)
    pg.refused = refused
    yield pg
    pg.close()


def test_swagger_ui_lists_the_operations_without_internet(offline_page, server):
    offline_page.goto(server + "/docs")
    ops = offline_page.locator(".opblock")
    expect(ops.first).to_be_visible(timeout=20_000)
    paths = {offline_page.locator(".opblock .opblock-summary-path").nth(i).inner_text().strip()
             for i in range(ops.count())}
    assert {"/chat", "/recommendations", "/feedback", "/health"} <= {p.replace("\u200b", "") for p in paths}
    assert offline_page.refused == []  # nothing was even asked of another host


def test_redoc_renders_without_internet(offline_page, server):
    offline_page.goto(server + "/redoc")
    expect(offline_page.get_by_text("/chat").first).to_be_attached(timeout=20_000)
    # ReDoc's own "powered by" logo is the only thing it would fetch from outside: no script, style or font
    assert [(kind, url) for kind, url in offline_page.refused if kind != "image"] == []
