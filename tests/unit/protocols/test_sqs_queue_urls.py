"""Queue URLs are built from the base URL and resolved by path only."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from broker.core.models import Queue, QueueSettings
from broker.errors import QueueNotFound
from broker.protocols.aws.sqs.queue_urls import parse_queue_url, queue_path, queue_url


def _queue() -> Queue:
    now = datetime.now(UTC)
    return Queue(1, "000000000000", "orders.fifo", "us-east-1", {}, QueueSettings(), {}, now, now)


def test_url_is_base_account_and_name() -> None:
    assert queue_url("http://localhost:4566/", _queue()) == (
        "http://localhost:4566/000000000000/orders.fifo"
    )


@pytest.mark.parametrize(
    "url",
    [
        "http://localhost:4566/000000000000/q1",
        "https://sqs.us-east-1.amazonaws.com/000000000000/q1",
        "http://otherhost:9999/000000000000/q1/",
        "https://broker.example.com/prefix/000000000000/q1",
    ],
)
def test_any_host_or_scheme_resolves_by_path(url: str) -> None:
    assert parse_queue_url(url) == ("000000000000", "q1")


@pytest.mark.parametrize("url", ["q1", "", "http://localhost:4566/", "http://h/only-one"])
def test_url_without_account_and_name_is_queue_does_not_exist(url: str) -> None:
    with pytest.raises(QueueNotFound):
        parse_queue_url(url)


def test_queue_path_recognises_account_and_name() -> None:
    assert queue_path("/000000000000/q1")
    assert not queue_path("/")
    assert not queue_path("/health")
