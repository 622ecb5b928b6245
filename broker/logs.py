"""Log output: one JSON object per line (``BROKER_LOG_FORMAT=json``) or readable text.

Every line written while a wire-protocol request is being served carries that request's id,
account, protocol and action (from ``broker.metrics.instruments.CURRENT_REQUEST``), so a
client's ``RequestId`` finds the server's lines. uvicorn's own loggers are routed through the
same handler, so a process writes one format.
"""

from __future__ import annotations

import logging
import sys
from datetime import UTC, datetime
from typing import Any, TextIO

import orjson

from broker.metrics.instruments import CURRENT_REQUEST

FORMATS = ("text", "json")

# Attributes every LogRecord has; anything else on a record came from ``extra=``.
# (uvicorn adds ``color_message``, the message with terminal colours: not for log files.)
_STANDARD = frozenset(logging.makeLogRecord({}).__dict__) | {
    "message",
    "asctime",
    "taskName",
    "color_message",
}
_CONTEXT = ("request_id", "account", "protocol", "action")


class RequestContextFilter(logging.Filter):
    """Copies the current request's identity onto each record (absent outside requests)."""

    def filter(self, record: logging.LogRecord) -> bool:
        context = CURRENT_REQUEST.get()
        if context is not None:
            record.request_id = context.request_id
            record.protocol = context.protocol
            record.action = context.action
            if context.account:
                record.account = context.account
        return True


def _extras(record: logging.LogRecord) -> dict[str, Any]:
    return {k: v for k, v in record.__dict__.items() if k not in _STANDARD}


class JsonFormatter(logging.Formatter):
    """``{"time", "level", "logger", "message", request fields..., extras..., "exception"}``."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        line.update(_extras(record))
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        elif record.exc_text:
            line["exception"] = record.exc_text
        if record.stack_info:
            line["stack"] = self.formatStack(record.stack_info)
        return orjson.dumps(line, default=str).decode()


class TextFormatter(logging.Formatter):
    """The classic line, with ``key=value`` request fields and extras after the message."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def formatMessage(self, record: logging.LogRecord) -> str:
        text = super().formatMessage(record)
        extras = _extras(record)
        if not extras:
            return text
        return text + " " + " ".join(f"{k}={v}" for k, v in extras.items())


def formatter(log_format: str) -> logging.Formatter:
    if log_format == "json":
        return JsonFormatter()
    if log_format == "text":
        return TextFormatter()
    raise ValueError(f"unknown log format {log_format!r}; expected one of {FORMATS}")


class _BrokerHandler(logging.StreamHandler[TextIO]):
    """The handler ``configure`` installs (a type of its own, so a second call replaces it)."""


def configure(level: str, log_format: str, stream: TextIO | None = None) -> None:
    """Send every log line of the process, uvicorn's included, to ``stream`` in ``log_format``.

    Replaces the plain stderr handler of ``logging.basicConfig`` and of a previous call; leaves
    other handlers (a test runner's, say) alone. Call it after uvicorn configured its loggers,
    that is from the application's startup.
    """
    handler = _BrokerHandler(stream if stream is not None else sys.stderr)
    handler.setFormatter(formatter(log_format))
    handler.addFilter(RequestContextFilter())
    root = logging.getLogger()
    for old in list(root.handlers):
        if type(old) in (logging.StreamHandler, _BrokerHandler):
            root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper())
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        uvicorn_logger = logging.getLogger(name)
        uvicorn_logger.handlers.clear()
        uvicorn_logger.propagate = True
    # The broker writes its own access line for wire-protocol requests, with the request id,
    # account and action; uvicorn's would repeat it without them (and log every probe).
    logging.getLogger("uvicorn.access").setLevel(logging.WARNING)
