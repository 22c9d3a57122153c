"""Serve one generated page on localhost (``envalign view --serve``)."""

from __future__ import annotations

import http.server
from pathlib import Path
from typing import Any

from envalign.envs.errors import ConfigError


def page_server(page: Path, port: int = 8000) -> http.server.ThreadingHTTPServer:
    """An HTTP server on ``127.0.0.1:port`` answering ``/`` (and the page's name) with ``page``.

    Only that file is served, never its folder. Port 0 picks a free port
    (``server.server_address[1]``). The caller runs ``serve_forever()``.

    Raises:
        ConfigError: If the port cannot be bound (taken, or not a port number).
    """
    body = Path(page).read_bytes()
    names = {"/", "/" + Path(page).name}

    class PageHandler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - the http.server hook's name
            path = self.path.split("?", 1)[0].split("#", 1)[0]
            if path not in names:
                self.send_error(404, "Only the generated page is served here.")
                return
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - inherited name
            return  # quiet: the command prints the URL once

    try:
        return http.server.ThreadingHTTPServer(("127.0.0.1", port), PageHandler)
    except (OSError, OverflowError) as error:  # the port is taken, privileged or out of range
        reason = getattr(error, "strerror", None) or str(error)
        raise ConfigError(
            f"Cannot serve on 127.0.0.1:{port} ({reason}); pass --port 0 for any free port."
        ) from error
