"""The authorize page in a real browser, over https, as a web client uses it: headless
Chromium (Debian's `chromium`, driven by Playwright; no browser is downloaded) opens a client
page on another origin (tests/browser/, served by a tiny https server here), which registers
an app and opens the authorize page in a popup or goes there as a full-page redirect; a person
logs in and approves; the code comes back to the client (through window.opener, or the
redirect), which exchanges it, calls the API with the token (CORS, preflighted), reads the
Link header, and revokes the token.

The service is served the way `make run` serves https: haproxy with the self-signed
certificate in front (tests/live_server.py). Without the `chromium` binary the test is
skipped saying so (.ci/run installs it).
"""

import functools
import http.server
import shutil
import ssl
import threading
from pathlib import Path

import pytest
from conftest import PASSWORD
from live_server import https_in_front, serving
from playwright.sync_api import sync_playwright

from minitwitter_tools import tls
from minitwitter_tools.devservices import free_port

PAGES = Path(__file__).parent / "browser"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="no chromium binary (apt-get install chromium; .ci/run installs it)"
)


class Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):
        pass


@pytest.fixture
def client_origin(tmp_path):
    """https://127.0.0.1:<port>: the web client's pages, on an origin of their own."""
    port = free_port()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), functools.partial(Quiet, directory=str(PAGES)))
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(tls.certificate(tmp_path / "client-tls"))
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"https://127.0.0.1:{port}"
    server.shutdown()
    server.server_close()


@pytest.fixture
def api(make_app, tmp_path):
    with serving(make_app) as base, https_in_front(base, tmp_path / "tls") as (https, _):
        yield https


@pytest.fixture
def browser():
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            yield chromium
        finally:
            chromium.close()


def log_in_and_approve(page):
    """A person on the authorize pages: the log-in form, then Authorize."""
    page.wait_for_selector("#login")
    assert page.url.split("?")[0].endswith("/oauth/authorize")
    page.fill("#login", "alice")
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_selector("button[value=approve]")
    page.click("button[value=approve]")


def outcome(page):
    page.wait_for_function("window.result !== undefined", timeout=30_000)
    return page.evaluate("window.result")


def check(result, api, how):
    assert "error" not in result, result
    assert result["how"] == how and result["username"] == "alice"
    assert result["posted"] == 200 and result["url"].startswith(f"{api}/@alice/")  # https, through the proxy
    assert result["link"] and 'rel="next"' in result["link"]  # exposed to the page
    assert (result["revoked"], result["after"]) == (200, 401)


@pytest.mark.parametrize("how", ["popup", "redirect"])
def test_a_web_client_signs_in_through_the_authorize_page(browser, api, client_origin, make_user, how):
    make_user("alice")
    context = browser.new_context(ignore_https_errors=True)  # the self-signed certificates
    page = context.new_page()
    page.goto(f"{client_origin}/client.html?api={api}")
    page.wait_for_selector(f"#{how}:enabled")
    if how == "popup":
        with page.expect_popup() as opened:
            page.click("#popup")
        popup = opened.value
        log_in_and_approve(popup)
        popup.wait_for_event("close", timeout=30_000)  # it handed the code to window.opener
        result = outcome(page)
    else:
        page.click("#redirect")
        log_in_and_approve(page)
        page.wait_for_url(f"{client_origin}/callback.html?**")
        result = outcome(page)
    check(result, api, how)
    context.close()
