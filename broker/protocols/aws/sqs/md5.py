"""The MD5 digests SQS returns for bodies and message attributes.

Java and Kotlin SDKs recompute these and fail the call on a mismatch, so the byte layout follows
the published algorithm exactly: attributes sorted by name, each as length-prefixed name and data
type, a transport byte (1 = String/Number, 2 = Binary) and the length-prefixed value.
"""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Mapping

from broker.core.models import MessageAttributeValue

_STRING_TRANSPORT = b"\x01"
_BINARY_TRANSPORT = b"\x02"


def md5_of_body(body: str) -> str:
    return hashlib.md5(body.encode("utf-8"), usedforsecurity=False).hexdigest()


def _length_prefixed(data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + data


def _name(item: tuple[bytes, MessageAttributeValue]) -> bytes:
    return item[0]


def md5_of_attributes(attributes: Mapping[str, MessageAttributeValue]) -> str | None:
    """The digest of ``attributes``, or ``None`` when there are none (SQS then omits the field)."""
    if not attributes:
        return None
    digest = hashlib.md5(usedforsecurity=False)
    # Sorting the UTF-8 encodings orders by code point, as SQS does.
    encoded = sorted(((name.encode("utf-8"), v) for name, v in attributes.items()), key=_name)
    for name_bytes, value in encoded:
        digest.update(_length_prefixed(name_bytes))
        digest.update(_length_prefixed(value.data_type.encode("utf-8")))
        if value.base_type == "Binary":
            digest.update(_BINARY_TRANSPORT)
            digest.update(_length_prefixed(value.binary_value or b""))
        else:
            digest.update(_STRING_TRANSPORT)
            digest.update(_length_prefixed((value.string_value or "").encode("utf-8")))
    return digest.hexdigest()
