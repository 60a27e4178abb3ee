"""A Lambda function URL on 127.0.0.1: real HTTP in, the function's handler run in the embedded world as Lambda
runs it behind a function URL (payload format 2.0 event in, `{"statusCode", "headers", "body"}` out).

One request is handled at a time (the embedded world is one process: its clock, environment and recorder are
shared), so two requests "at once" arrive one after the other, as two Lambda containers' conditional writes
would be ordered by DynamoDB anyway. A handler that raises answers 502, as a function URL does.
"""

from __future__ import annotations

import base64
import json
import threading
import time
import uuid
from typing import TYPE_CHECKING, Any

from warden_local.http_server import LocalHttpServer

if TYPE_CHECKING:
    from warden_local.world import World


def url_event(method: str, path: str, headers: dict[str, str], body: bytes, *, account: str,
              domain: str = "local.lambda-url.us-east-1.on.aws") -> dict[str, Any]:
    """The event a function URL gives the function (payload format 2.0)."""
    text_body = headers.get("content-type", "").startswith(("application/x-www-form-urlencoded", "application/json",
                                                            "text/"))
    now = time.time()
    return {"version": "2.0", "routeKey": "$default", "rawPath": path.split("?", 1)[0],
            "rawQueryString": path.split("?", 1)[1] if "?" in path else "",
            "headers": {k.lower(): v for k, v in headers.items()},
            "requestContext": {"accountId": "anonymous", "apiId": domain.split(".", 1)[0], "domainName": domain,
                               "domainPrefix": domain.split(".", 1)[0],
                               "http": {"method": method, "path": path.split("?", 1)[0], "protocol": "HTTP/1.1",
                                        "sourceIp": "127.0.0.1", "userAgent": headers.get("user-agent", "")},
                               "requestId": str(uuid.uuid4()), "routeKey": "$default", "stage": "$default",
                               "time": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)),
                               "timeEpoch": int(now * 1000)},
            "body": body.decode() if text_body else base64.b64encode(body).decode(),
            "isBase64Encoded": not text_body}


class FunctionUrlServer:
    def __init__(self, world: World, function_id: str) -> None:
        self.world = world
        self.function_id = function_id
        self.invocations: list[Any] = []
        self._lock = threading.Lock()
        self._http = LocalHttpServer(self._answer)

    @property
    def url(self) -> str:
        return self._http.base_url() + "/"

    def start(self) -> FunctionUrlServer:
        self._http.start()
        return self

    def stop(self) -> None:
        self._http.stop()

    def _answer(self, method: str, path: str, headers: dict[str, str],
                body: bytes) -> tuple[int, dict[str, str], bytes]:
        event = url_event(method, path, headers, body, account=self.world.account)
        with self._lock:
            invocation = self.world.request(self.function_id, event)
            self.invocations.append(invocation)
        if invocation.error is not None or not isinstance(invocation.result, dict):
            return 502, {"Content-Type": "application/json"}, json.dumps({"Message": "Internal Server Error"}).encode()
        result = invocation.result
        out = result.get("body") or ""
        data = base64.b64decode(out) if result.get("isBase64Encoded") else str(out).encode()
        return int(result.get("statusCode") or 200), dict(result.get("headers") or {}), data
