"""AWS Query: form-encoded requests in, ``<OpResponse>`` / ``<ErrorResponse>`` XML out.

Results are built once, in their JSON shape (see ``json_protocol.JsonValue``); ``XmlNames`` says
how that shape is flattened into the Query XML, where lists repeat an element and maps become
repeated entries with key and value children.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import parse_qsl

from starlette.responses import Response

from broker.protocols.aws.faults import MALFORMED_QUERY_STRING, AwsFault, Fault
from broker.protocols.aws.json_protocol import JsonValue

XML_CONTENT_TYPE = "text/xml"

# Characters XML 1.0 cannot carry at all; the core rejects them in bodies, but error messages may
# echo arbitrary input. A carriage return is legal, but parsers read it as a newline if unescaped.
_XML_SPECIAL = re.compile("[&<>\r\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_XML_ESCAPES = {"&": "&amp;", "<": "&lt;", ">": "&gt;", "\r": "&#xD;"}


def _escape_char(match: re.Match[str]) -> str:
    return _XML_ESCAPES.get(match.group(), "\ufffd")


def escape_text(text: str) -> str:
    return _XML_SPECIAL.sub(_escape_char, text)


def parse_query_params(query_string: str, body: bytes, content_type: str) -> dict[str, str]:
    """Query parameters from the URL and, for a form POST, the body (which wins on a clash)."""
    params = _parse_form(query_string)
    if body and (not content_type or "x-www-form-urlencoded" in content_type.lower()):
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            raise AwsFault(MALFORMED_QUERY_STRING, "The request body is not UTF-8.") from None
        params.update(_parse_form(text))
    return params


def _parse_form(text: str) -> dict[str, str]:
    try:
        return dict(parse_qsl(text, keep_blank_values=True, encoding="utf-8", errors="strict"))
    except (UnicodeDecodeError, ValueError):
        raise AwsFault(MALFORMED_QUERY_STRING, "The query string is malformed.") from None


@dataclass(frozen=True)
class XmlNames:
    """How a service's JSON-shaped results are flattened into Query XML.

    ``lists``: member name -> the element repeated per item. ``maps``: member name -> (element
    repeated per entry, key element, value element). Other members are elements of their own name.
    """

    lists: Mapping[str, str] = field(default_factory=dict)
    maps: Mapping[str, tuple[str, str, str]] = field(default_factory=dict)


def _scalar_text(value: JsonValue) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _element(tag: str, value: JsonValue, names: XmlNames, out: list[str]) -> None:
    if value is None:
        return
    if isinstance(value, dict):
        out.append(f"<{tag}>")
        _members(value, names, out)
        out.append(f"</{tag}>")
    elif isinstance(value, list):
        for item in value:
            _element(tag, item, names, out)
    else:
        out.append(f"<{tag}>{escape_text(_scalar_text(value))}</{tag}>")


def _members(result: Mapping[str, JsonValue], names: XmlNames, out: list[str]) -> None:
    for name, value in result.items():
        if name in names.maps and isinstance(value, dict):
            entry_tag, key_tag, value_tag = names.maps[name]
            for key, item in value.items():
                out.append(f"<{entry_tag}><{key_tag}>{escape_text(key)}</{key_tag}>")
                _element(value_tag, item, names, out)
                out.append(f"</{entry_tag}>")
        elif isinstance(value, list):
            for item in value:
                _element(names.lists.get(name, name), item, names, out)
        else:
            _element(name, value, names, out)


def result_xml(result: Mapping[str, JsonValue], names: XmlNames) -> str:
    """The inside of an ``<OpResult>`` element for a JSON-shaped result."""
    out: list[str] = []
    _members(result, names, out)
    return "".join(out)


def xml_response(
    action: str,
    result: Mapping[str, JsonValue] | None,
    request_id: str,
    namespace: str,
    names: XmlNames,
) -> Response:
    """``<OpResponse><OpResult>...</OpResult><ResponseMetadata>...</OpResponse>``; no result
    element for actions without output (DeleteMessage and the like), as AWS does."""
    result_part = (
        f"<{action}Result>{result_xml(result, names)}</{action}Result>"
        if result is not None
        else ""
    )
    body = (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<{action}Response xmlns="{namespace}">'
        f"{result_part}<ResponseMetadata><RequestId>{escape_text(request_id)}</RequestId>"
        f"</ResponseMetadata></{action}Response>"
    )
    return Response(
        body.encode("utf-8"),
        status_code=200,
        media_type=XML_CONTENT_TYPE,
        headers={"x-amzn-RequestId": request_id},
    )


def xml_error_response(fault: Fault, message: str, request_id: str, namespace: str) -> Response:
    body = (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<ErrorResponse xmlns="{namespace}"><Error>'
        f"<Type>{fault.fault_type}</Type><Code>{escape_text(fault.query_code)}</Code>"
        f"<Message>{escape_text(message)}</Message><Detail/></Error>"
        f"<RequestId>{escape_text(request_id)}</RequestId></ErrorResponse>"
    )
    return Response(
        body.encode("utf-8"),
        status_code=fault.status,
        media_type=XML_CONTENT_TYPE,
        headers={"x-amzn-RequestId": request_id},
    )
