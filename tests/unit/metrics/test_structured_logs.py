"""broker.logs: JSON and text lines carry the current request's id, account and action."""

from __future__ import annotations

import io
import json
import logging
import sys
from collections.abc import Iterator

import pytest

from broker import logs
from broker.metrics.instruments import request_context


@pytest.fixture
def restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    saved = (list(root.handlers), root.level)
    uvicorn = {
        name: (
            list(logging.getLogger(name).handlers),
            logging.getLogger(name).propagate,
            logging.getLogger(name).level,
        )
        for name in ("uvicorn", "uvicorn.error", "uvicorn.access")
    }
    yield
    root.handlers[:] = saved[0]
    root.setLevel(saved[1])
    for name, (handlers, propagate, level) in uvicorn.items():
        logger = logging.getLogger(name)
        logger.handlers[:] = handlers
        logger.propagate = propagate
        logger.setLevel(level)


def record(message: str = "hello %s", *args: object, **extra: object) -> logging.LogRecord:
    logger = logging.getLogger("broker.test")
    made = logger.makeRecord(
        "broker.test", logging.WARNING, __file__, 1, message, args or ("x",), None, extra=extra
    )
    logs.RequestContextFilter().filter(made)
    return made


def test_json_lines_carry_the_request_context_and_extras() -> None:
    with request_context("req-1") as context:
        context.protocol, context.action, context.account = "sqs", "SendMessage", "123456789012"
        line = json.loads(logs.JsonFormatter().format(record(status=200)))
    assert line["message"] == "hello x"
    assert line["level"] == "warning"
    assert line["logger"] == "broker.test"
    assert line["request_id"] == "req-1"
    assert line["action"] == "SendMessage"
    assert line["account"] == "123456789012"
    assert line["protocol"] == "sqs"
    assert line["status"] == 200
    assert line["time"].endswith("+00:00")


def test_lines_outside_a_request_have_no_request_fields() -> None:
    line = json.loads(logs.JsonFormatter().format(record()))
    assert "request_id" not in line


def test_json_lines_carry_exceptions() -> None:
    try:
        raise ValueError("boom")
    except ValueError:
        made = logging.getLogger("x").makeRecord(
            "x", logging.ERROR, __file__, 1, "failed", (), exc_info=sys.exc_info()
        )
    line = json.loads(logs.JsonFormatter().format(made))
    assert "Traceback" in line["exception"] and "boom" in line["exception"]


def test_text_lines_append_the_request_fields() -> None:
    with request_context("req-2") as context:
        context.action = "ReceiveMessage"
        text = logs.TextFormatter().format(record())
    assert "WARNING broker.test: hello x" in text
    assert "request_id=req-2" in text and "action=ReceiveMessage" in text


def test_an_unknown_format_is_refused() -> None:
    with pytest.raises(ValueError, match="yaml"):
        logs.formatter("yaml")


@pytest.mark.usefixtures("restore_logging")
def test_configure_routes_every_logger_through_one_handler() -> None:
    root = logging.getLogger()
    plain = logging.StreamHandler(io.StringIO())  # what logging.basicConfig installs
    kept = logging.NullHandler()  # somebody else's: a test runner's
    root.addHandler(plain)
    root.addHandler(kept)
    logging.getLogger("uvicorn").addHandler(logging.StreamHandler(io.StringIO()))
    out = io.StringIO()
    logs.configure("info", "json", out)
    logs.configure("info", "json", out)  # twice: still one handler
    assert plain not in root.handlers and kept in root.handlers
    with request_context("req-3"):
        logging.getLogger("uvicorn.error").info(
            "Application startup complete.", extra={"color_message": "\x1b[1mcolour\x1b[0m"}
        )
    logging.getLogger("uvicorn.access").info("GET /healthz 200")  # silenced: the broker has its own
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    assert "color_message" not in lines[0]
    assert [(line["logger"], line["message"], line["request_id"]) for line in lines] == [
        ("uvicorn.error", "Application startup complete.", "req-3")
    ]
