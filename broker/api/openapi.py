"""The OpenAPI 3.1 document of the REST API, generated from the operation table, and its
self-contained HTML rendering (no scripts, no CDN: the page works offline)."""

from __future__ import annotations

import html
from collections.abc import Sequence
from typing import Any

from broker import __version__
from broker.api.problems import TYPE_PREFIX
from broker.api.queues import SCHEMAS, Operation

Json = dict[str, Any]

_ERROR_TEXT = {
    400: "Invalid request",
    401: "Missing or malformed credentials",
    404: "No such queue, topic or subscription",
    409: "Conflicts with the current state",
}

PROBLEM: Json = {
    "type": "object",
    "description": "RFC 9457 problem details, plus the AWS error code.",
    "required": ["type", "title", "status", "detail", "code"],
    "properties": {
        "type": {"type": "string", "examples": [TYPE_PREFIX + "QueueDoesNotExist"]},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "code": {"type": "string", "description": "AWS error name, e.g. QueueDoesNotExist."},
        "aws_code": {"type": "string", "description": "The legacy SQS Query error code."},
    },
}


def _parameters(op: Operation) -> list[Json]:
    params: list[Json] = []
    for name in _path_names(op.path):
        params.append({"name": name, "in": "path", "required": True, "schema": {"type": "string"}})
    for name, schema, description in op.query:
        params.append(
            {
                "name": name,
                "in": "query",
                "required": False,
                "schema": schema,
                "description": description,
            }
        )
    return params


def _path_names(path: str) -> list[str]:
    return [part[1:-1] for part in path.split("/") if part.startswith("{")]


def _operation(op: Operation) -> Json:
    responses: Json = {}
    if op.response is not None:
        responses[str(op.status)] = {
            "description": op.summary,
            "content": {"application/json": {"schema": op.response}},
        }
    else:
        responses[str(op.status)] = {"description": op.summary}
    for status in (*op.errors, 503):
        responses[str(status)] = {"$ref": f"#/components/responses/Problem{status}"}
    out: Json = {
        "operationId": op.id,
        "summary": op.summary,
        "tags": [op.tag],
        "parameters": _parameters(op),
        "responses": responses,
    }
    if op.description:
        out["description"] = op.description
    if op.request is not None:
        out["requestBody"] = {
            "required": op.method != "POST" or bool(op.request.get("required")),
            "content": {"application/json": {"schema": op.request}},
        }
    return out


def openapi_document(operations: Sequence[Operation], server_url: str | None = None) -> Json:
    paths: Json = {}
    for op in operations:
        paths.setdefault(op.path, {})[op.method.lower()] = _operation(op)
    responses: Json = {
        f"Problem{status}": {
            "description": text,
            "content": {
                "application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}
            },
        }
        for status, text in {**_ERROR_TEXT, 503: "The database is unreachable; retry"}.items()
    }
    document: Json = {
        "openapi": "3.1.0",
        "info": {
            "title": "pgbroker REST API",
            "version": __version__,
            "description": "Queues, messages and topics over resource-oriented JSON: the same "
            "services, limits and semantics as the SQS and SNS wire protocols on this port. "
            "Errors are RFC 9457 "
            "problem objects. Authenticate with `Authorization: Bearer <key-id>:<secret>`, HTTP "
            "Basic, or AWS SigV4 (what the Python SDK sends).",
        },
        "paths": paths,
        "components": {
            "schemas": {**SCHEMAS, "Problem": PROBLEM},
            "responses": responses,
            "securitySchemes": {
                "bearer": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "`<access-key-id>:<secret-access-key>`",
                },
                "basic": {"type": "http", "scheme": "basic"},
                "sigv4": {
                    "type": "apiKey",
                    "in": "header",
                    "name": "Authorization",
                    "description": "AWS Signature Version 4 (AWS4-HMAC-SHA256).",
                },
            },
        },
        "security": [{"bearer": []}, {"basic": []}, {"sigv4": []}],
        "tags": [
            {"name": "queues", "description": "Create, inspect, configure and delete queues."},
            {"name": "messages", "description": "Send, receive, delete, change visibility."},
            {"name": "redrive", "description": "Move dead-lettered messages back."},
            {"name": "topics", "description": "Create, inspect, configure and delete topics."},
            {"name": "subscriptions", "description": "Subscribe queues and HTTP/S endpoints."},
            {"name": "publish", "description": "Publish to a topic (fan-out to subscriptions)."},
        ],
    }
    if server_url:
        document["servers"] = [{"url": server_url}]
    return document


_STYLE = """
body{font-family:system-ui,sans-serif;max-width:980px;margin:2em auto;padding:0 1em;color:#222}
h1{font-size:1.6em}h2{margin-top:2em;border-bottom:1px solid #ddd}
.op{border:1px solid #ddd;border-radius:6px;margin:1em 0;padding:.6em 1em}
.m{display:inline-block;min-width:4.5em;font-weight:bold;font-family:monospace}
.GET{color:#1a7f37}.POST{color:#0969da}.PUT{color:#9a6700}.PATCH{color:#8250df}
.DELETE{color:#cf222e}code,pre{background:#f6f8fa;border-radius:4px}
pre{padding:.6em;overflow:auto;font-size:.85em}summary{cursor:pointer}
"""


def _json_block(value: Any) -> str:
    import json

    return f"<pre>{html.escape(json.dumps(value, indent=2))}</pre>"


def docs_page(document: Json) -> str:
    """The OpenAPI document as one static HTML page: operations by tag, schemas expandable."""
    info = document["info"]
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'>",
        f"<title>{html.escape(info['title'])}</title><style>{_STYLE}</style></head><body>",
        f"<h1>{html.escape(info['title'])} <small>{html.escape(info['version'])}</small></h1>",
        f"<p>{html.escape(info['description'])}</p>",
        "<p>Machine-readable: <a href='/openapi.json'>/openapi.json</a>. "
        "Errors: <code>application/problem+json</code>.</p>",
    ]
    for tag in document["tags"]:
        parts.append(f"<h2>{html.escape(tag['name'])}</h2><p>{html.escape(tag['description'])}</p>")
        for path, methods in document["paths"].items():
            for method, op in methods.items():
                if tag["name"] not in op["tags"]:
                    continue
                verb = method.upper()
                parts.append(
                    f"<div class='op' id='{html.escape(op['operationId'])}'>"
                    f"<span class='m {verb}'>{verb}</span> <code>{html.escape(path)}</code>"
                    f" &mdash; {html.escape(op['summary'])}"
                )
                if "description" in op:
                    parts.append(f"<p>{html.escape(op['description'])}</p>")
                query = [p for p in op["parameters"] if p["in"] == "query"]
                if query:
                    items = "".join(
                        f"<li><code>{html.escape(p['name'])}</code>: "
                        f"{html.escape(p.get('description', ''))}</li>"
                        for p in query
                    )
                    parts.append(f"<ul>{items}</ul>")
                body = op.get("requestBody")
                if body:
                    schema = body["content"]["application/json"]["schema"]
                    parts.append(
                        f"<details><summary>Request body</summary>{_json_block(schema)}</details>"
                    )
                statuses = ", ".join(sorted(op["responses"]))
                parts.append(f"<p>Responses: {html.escape(statuses)}</p>")
                for status, response in op["responses"].items():
                    content = response.get("content", {}).get("application/json")
                    if content:
                        parts.append(
                            f"<details><summary>{status} response</summary>"
                            f"{_json_block(content['schema'])}</details>"
                        )
                parts.append("</div>")
    parts.append("<h2>Schemas</h2>")
    for name, schema in document["components"]["schemas"].items():
        parts.append(
            f"<details><summary>{html.escape(name)}</summary>{_json_block(schema)}</details>"
        )
    parts.append("</body></html>")
    return "".join(parts)
