"""A loopback HTTP/S subscriber for SNS tests, verifying signatures the way subscribers do:
build the string to sign, fetch the certificate from SigningCertURL, verify with cryptography."""

from __future__ import annotations

import base64
import json
import queue
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

NOTIFICATION_KEYS = ("Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type")
CONFIRMATION_KEYS = (
    "Message",
    "MessageId",
    "SubscribeURL",
    "Timestamp",
    "Token",
    "TopicArn",
    "Type",
)


def verify_signature(message: dict[str, Any]) -> None:
    """Raise if ``message`` is not signed by the certificate at its SigningCertURL."""
    keys = NOTIFICATION_KEYS if message["Type"] == "Notification" else CONFIRMATION_KEYS
    text = "".join(f"{k}\n{message[k]}\n" for k in keys if k in message)
    pem = httpx.get(message["SigningCertURL"], timeout=10).raise_for_status().content
    public_key = x509.load_pem_x509_certificate(pem).public_key()
    assert isinstance(public_key, rsa.RSAPublicKey)
    algorithm: hashes.HashAlgorithm = (
        hashes.SHA256() if message["SignatureVersion"] == "2" else hashes.SHA1()
    )
    public_key.verify(
        base64.b64decode(message["Signature"]), text.encode(), padding.PKCS1v15(), algorithm
    )


class Subscriber:
    """Records every POST; answers ``failures`` of them with 500 before answering 200."""

    def __init__(self) -> None:
        self.received: queue.Queue[tuple[dict[str, str], str]] = queue.Queue()
        self.failures = 0
        self._lock = threading.Lock()
        subscriber = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("content-length", "0"))
                body = self.rfile.read(length).decode()
                headers = {k.lower(): v for k, v in self.headers.items()}
                with subscriber._lock:
                    failing = subscriber.failures > 0
                    if failing:
                        subscriber.failures -= 1
                subscriber.received.put((headers, body))
                self.send_response(500 if failing else 200)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/sns"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def next(self, timeout: float = 20.0) -> tuple[dict[str, str], str]:
        return self.received.get(timeout=timeout)

    def next_json(self, timeout: float = 20.0) -> tuple[dict[str, str], dict[str, Any]]:
        headers, body = self.next(timeout)
        return headers, json.loads(body)

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
