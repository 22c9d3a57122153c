"""Serving one generated page on localhost."""

from __future__ import annotations

import threading
import urllib.error
import urllib.request

import pytest

from envalign.training.view.serve import page_server


def test_serves_the_page_and_nothing_else(tmp_path):
    page = tmp_path / "page.html"
    page.write_text("<p>hello</p>", encoding="utf-8")
    (tmp_path / "secret.txt").write_text("no")
    server = page_server(page, 0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        base = f"http://127.0.0.1:{server.server_address[1]}"
        for path in ("/", "/page.html", "/?x=1"):
            with urllib.request.urlopen(base + path, timeout=10) as answer:
                assert answer.read() == b"<p>hello</p>"
                assert answer.headers["Content-Type"] == "text/html; charset=utf-8"
        with pytest.raises(urllib.error.HTTPError) as error:
            urllib.request.urlopen(base + "/secret.txt", timeout=10)
        assert error.value.code == 404
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


@pytest.mark.parametrize("taken", [True, False])
def test_a_port_that_cannot_be_bound_is_a_config_error(tmp_path, taken):
    from envalign.envs.errors import ConfigError

    page = tmp_path / "page.html"
    page.write_text("<p>hello</p>", encoding="utf-8")
    first = page_server(page, 0)
    port = first.server_address[1] if taken else 70_000
    try:
        with pytest.raises(ConfigError, match=f"Cannot serve on 127.0.0.1:{port}"):
            page_server(page, port)
    finally:
        first.server_close()
