"""A real HTTP server on 127.0.0.1 for the embedded world's outside parties (PagerDuty, Slack, a function URL):
one place for the socket, the thread and the shutdown, each party giving only how it answers a request.

`answer(method, path, headers, body) -> (status, headers, body bytes)`; the server adds Content-Length. Status
DROP closes the connection without an answer (a request whose answer is lost on the way back).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

Answer = tuple[int, dict[str, str], bytes]
JSON = {"Content-Type": "application/json"}
DROP = 0


def json_answer(status: int, document: Any) -> Answer:
    return status, JSON, json.dumps(document).encode()


class LocalHttpServer:
    def __init__(self, answer: Callable[[str, str, dict[str, str], bytes], Answer]) -> None:
        class Handler(BaseHTTPRequestHandler):
            def _serve(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                status, headers, data = answer(self.command, self.path, dict(self.headers), body)
                if status == DROP:
                    self.close_connection = True
                    return
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_POST = do_GET = _serve  # noqa: N815 (http.server API)

            def log_message(self, *args: Any) -> None:
                pass

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        # A short poll: `shutdown` waits up to one poll interval, and every world stops its servers.
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.02},
                                        daemon=True)

    def base_url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
