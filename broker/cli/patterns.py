"""``broker test-pattern``: match an event pattern or filter policy locally (no server)."""

from __future__ import annotations

import json
import sys
from typing import Any

import click

from broker.cli.server import main
from broker.errors import InvalidPattern
from broker.matching import compile_pattern


def _load(text: str, what: str) -> Any:
    if text.startswith("@"):
        with open(text[1:], encoding="utf-8") as handle:
            text = handle.read()
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise click.BadParameter(f"{what} is not JSON: {exc}") from None


@main.command("test-pattern")
@click.option("--pattern", required=True, help="The pattern as JSON, or @file.")
@click.option("--event", required=True, help="The event (or message) as JSON, or @file.")
@click.option(
    "--dialect",
    type=click.Choice(["eventbridge", "sns-attributes", "sns-body"]),
    default="eventbridge",
    show_default=True,
)
@click.option("--json", "as_json", is_flag=True, help='Print {"matches": bool}.')
def test_pattern(pattern: str, event: str, dialect: str, as_json: bool) -> None:
    """Does EVENT match PATTERN? Exit status 0 if it does, 1 if not, 2 if invalid."""
    try:
        compiled = compile_pattern(_load(pattern, "--pattern"), dialect)
    except InvalidPattern as exc:
        raise click.UsageError(f"invalid pattern: {exc.message}") from None
    matched = compiled.matches(_load(event, "--event"))
    click.echo(
        json.dumps({"matches": matched}) if as_json else ("match" if matched else "no match")
    )
    sys.exit(0 if matched else 1)
