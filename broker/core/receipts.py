"""Receipt handles: opaque, signed references to one receive of one message.

A handle encodes the queue, the message row and the receipt token of that receive, and carries
a truncated HMAC-SHA256 under the server secret. A forged or mangled handle is refused without a
query; a stale handle (the message was received again since) decodes fine but no longer matches
the row's token, so it cannot delete the re-delivered message.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import struct
from dataclasses import dataclass

from broker.errors import ReceiptHandleIsInvalid

_VERSION = 1
_LAYOUT = struct.Struct(">BQQq")
_MAC_BYTES = 16


@dataclass(frozen=True)
class Receipt:
    queue_id: int
    message_row: int
    token: int


class ReceiptCodec:
    def __init__(self, secret: bytes) -> None:
        if len(secret) < 16:
            raise ValueError("the receipt secret must be at least 16 bytes")
        self._secret = secret

    def encode(self, receipt: Receipt) -> str:
        payload = _LAYOUT.pack(_VERSION, receipt.queue_id, receipt.message_row, receipt.token)
        return base64.urlsafe_b64encode(payload + self._mac(payload)).decode("ascii").rstrip("=")

    def decode(self, handle: str) -> Receipt:
        try:
            raw = base64.urlsafe_b64decode(handle + "=" * (-len(handle) % 4))
        except (binascii.Error, ValueError):
            raise _invalid(handle) from None
        if len(raw) != _LAYOUT.size + _MAC_BYTES:
            raise _invalid(handle)
        payload, mac = raw[: _LAYOUT.size], raw[_LAYOUT.size :]
        if not hmac.compare_digest(mac, self._mac(payload)):
            raise _invalid(handle)
        version, queue_id, row, token = _LAYOUT.unpack(payload)
        if version != _VERSION:
            raise _invalid(handle)
        return Receipt(queue_id, row, token)

    def _mac(self, payload: bytes) -> bytes:
        return hmac.new(self._secret, payload, hashlib.sha256).digest()[:_MAC_BYTES]


def _invalid(handle: str) -> ReceiptHandleIsInvalid:
    shown = handle if len(handle) <= 64 else handle[:61] + "..."
    return ReceiptHandleIsInvalid(
        f'The input receipt handle "{shown}" is not a valid receipt handle.'
    )
