"""A lean asyncio SQS JSON 1.0 client for benchmarks: one keep-alive HTTP/1.1 connection per
client, requests written as bytes, so the client costs far less CPU than boto3 or httpx."""

from __future__ import annotations

import asyncio
from typing import Any

import orjson

from broker.sdk import signing

# The development credentials a broker on a loopback address accepts (docs/security.md).
ACCESS_KEY_ID = "test"
SECRET_ACCESS_KEY = "test"
REGION = "us-east-1"


def signed_headers(
    host: str, service: str, content_type: str, body: bytes, target: str | None = None
) -> dict[str, str]:
    """The headers of a SigV4-signed ``POST /`` (signing costs two HMAC chains and a hash)."""
    date = signing.amz_date()
    headers = {"content-type": content_type, "host": host, "x-amz-date": date}
    if target is not None:
        headers["x-amz-target"] = target
    headers["authorization"] = signing.sign(
        "POST", "/", [], headers, body, ACCESS_KEY_ID, SECRET_ACCESS_KEY, REGION, service, date
    )
    return headers


class SqsError(Exception):
    def __init__(self, status: int, body: dict[str, Any]) -> None:
        super().__init__(f"{status}: {body}")
        self.status = status
        self.body = body


class SqsClient:
    def __init__(self, host: str, port: int) -> None:
        self.host = host
        self.port = port
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def connect(self) -> None:
        self._reader, self._writer = await asyncio.open_connection(self.host, self.port)

    async def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            await self._writer.wait_closed()

    async def call(self, action: str, params: dict[str, Any]) -> dict[str, Any]:
        if self._writer is None or self._reader is None:
            await self.connect()
        assert self._writer is not None and self._reader is not None
        body = orjson.dumps(params)
        headers = signed_headers(
            f"{self.host}:{self.port}",
            "sqs",
            "application/x-amz-json-1.0",
            body,
            f"AmazonSQS.{action}",
        )
        lines = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
        head = f"POST / HTTP/1.1\r\n{lines}Content-Length: {len(body)}\r\n\r\n"
        self._writer.write(head.encode() + body)
        status_line = await self._reader.readline()
        status = int(status_line.split()[1])
        length = 0
        while True:
            line = await self._reader.readline()
            if line in (b"\r\n", b""):
                break
            name, _, value = line.partition(b":")
            if name.lower() == b"content-length":
                length = int(value)
        payload = await self._reader.readexactly(length) if length else b"{}"
        document: dict[str, Any] = orjson.loads(payload)
        if status != 200:
            raise SqsError(status, document)
        return document
