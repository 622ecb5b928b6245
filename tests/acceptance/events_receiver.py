"""A loopback HTTP endpoint for API-destination tests: records every request, answers the
statuses it is told to, and serves an OAuth client-credentials token endpoint at ``/token``."""

from __future__ import annotations

import json
import queue
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


@dataclass(frozen=True)
class Received:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: str

    def json(self) -> Any:
        return json.loads(self.body)


class Receiver:
    def __init__(self) -> None:
        self.received: queue.Queue[Received] = queue.Queue()
        self.token_requests: queue.Queue[Received] = queue.Queue()
        self.statuses: list[int] = []
        """Statuses for the next requests, in order; 200 once they run out."""
        self.tokens_issued = 0
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def _handle(self) -> None:
                length = int(self.headers.get("content-length", "0"))
                body = self.rfile.read(length).decode()
                parts = urlsplit(self.path)
                request = Received(
                    self.command,
                    parts.path,
                    parse_qs(parts.query),
                    {k.lower(): v for k, v in self.headers.items()},
                    body,
                )
                if parts.path == "/token":
                    with receiver._lock:
                        receiver.tokens_issued += 1
                        token = f"token-{receiver.tokens_issued}"
                    receiver.token_requests.put(request)
                    payload = json.dumps({"access_token": token, "expires_in": 3600}).encode()
                    self.send_response(200)
                    self.send_header("content-type", "application/json")
                    self.send_header("content-length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                    return
                with receiver._lock:
                    status = receiver.statuses.pop(0) if receiver.statuses else 200
                receiver.received.put(request)
                self.send_response(status)
                self.send_header("content-length", "0")
                self.end_headers()

            do_POST = do_PUT = do_GET = _handle

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def next(self, timeout: float = 20.0) -> Received:
        return self.received.get(timeout=timeout)

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
