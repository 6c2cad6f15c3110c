"""A real server (uvicorn in a thread, over the trained test world) and Debian's Chromium, for page tests."""

import contextlib
import socket
import threading
import time

import pytest
import uvicorn
from playwright.sync_api import sync_playwright

from naviyam.api.app import create_app

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def serving(app):
    """``app`` served by uvicorn in a thread on a free port; yields its base URL."""
    port = _free_port()
    srv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    for _ in range(300):
        if srv.started:
            break
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        srv.should_exit = True
        thread.join(timeout=10)


@pytest.fixture(scope="module")
def server(trained_world, runtime):
    with serving(create_app(trained_world.settings, engine=trained_world.engine, runtime=runtime)) as base:
        yield base


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        yield browser
        browser.close()




@pytest.fixture(scope="session")
def serve_app():
    """``serve_app(app)``: a context manager serving another app (over another database) for a page test."""
    return serving
