"""Named SQL: ``sql/queries.sql`` split on ``-- name:`` markers into a name -> statement map."""

from __future__ import annotations

import re
from importlib import resources
from typing import LiteralString

_MARKER = re.compile(r"^-- name: (\w+)\s*$", re.MULTILINE)


def load(text: str) -> dict[str, LiteralString]:
    parts = _MARKER.split(text)
    statements: dict[str, LiteralString] = {}
    for name, body in zip(parts[1::2], parts[2::2], strict=True):
        lines = [line for line in body.strip().splitlines() if not line.lstrip().startswith("--")]
        if name in statements:
            raise ValueError(f"duplicate query name {name!r}")
        statements[name] = "\n".join(lines).rstrip(";\n ")
    return statements


def load_file(name: str) -> dict[str, LiteralString]:
    """The statements of ``sql/<name>`` inside this package."""
    return load(resources.files("broker.storage").joinpath("sql", name).read_text("utf-8"))


QUERIES = load_file("queries.sql")
