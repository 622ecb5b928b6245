"""The topic commands of ``broker`` (topics create|list|show|delete|subscribe|subscriptions|
unsubscribe, publish) against a real server, in process through click's runner."""

from __future__ import annotations

import json
from typing import Any

import pytest
from accept_support import ACCESS_KEY, SECRET_KEY
from click.testing import CliRunner

from broker.cli import main


@pytest.fixture(scope="module")
def env(broker_url: str) -> dict[str, str]:
    return {
        "BROKER_ENDPOINT_URL": broker_url,
        "BROKER_ACCESS_KEY_ID": ACCESS_KEY,
        "BROKER_SECRET_ACCESS_KEY": SECRET_KEY,
    }


@pytest.fixture
def cli(env: dict[str, str]) -> Any:
    runner = CliRunner()

    def run(*args: str, input: str | None = None, code: int = 0) -> str:
        result = runner.invoke(main, list(args), env=env, input=input, catch_exceptions=False)
        assert result.exit_code == code, result.output
        return result.output

    return run


def test_topic_commands(cli: Any, queue_name: str) -> None:
    topic = queue_name
    created = json.loads(
        cli("topics", "create", topic, "-a", "DisplayName=Orders", "-t", "team=a", "--json")
    )
    assert created["name"] == topic and created["tags"] == {"team": "a"}
    assert created["arn"].endswith(":" + topic)
    assert topic in cli("topics", "create", topic, "-a", "DisplayName=Orders")
    listed = json.loads(cli("topics", "list", "--prefix", topic, "--json"))
    assert [t["name"] for t in listed] == [topic]
    assert topic in cli("topics", "list", "--prefix", topic)
    shown = json.loads(cli("topics", "show", topic, "--json"))
    assert shown["attributes"]["DisplayName"] == "Orders" and shown["subscriptions"] == []
    assert "tag:team" in cli("topics", "show", topic)
    assert json.loads(cli("topics", "delete", topic, "--json")) == {"deleted": topic}
    missing = cli("topics", "show", topic, code=1)
    assert "NotFound" in missing


def test_subscribe_publish_receive(cli: Any, queue_name: str) -> None:
    topic, queue = queue_name, queue_name + "-q"
    cli("topics", "create", topic)
    cli("queues", "create", queue)
    subscribed = json.loads(
        cli(
            "topics",
            "subscribe",
            topic,
            "--queue",
            queue,
            "--filter-policy",
            '{"kind": ["order"]}',
            "--raw",
            "--json",
        )
    )
    assert subscribed["attributes"]["RawMessageDelivery"] == "true"
    assert subscribed["attributes"]["FilterPolicy"] == '{"kind": ["order"]}'
    table = cli("topics", "show", topic)
    assert "sqs" in table and "confirmed" in table

    cli("publish", topic, "skip me", "--attribute", "kind=refund")
    published = json.loads(
        cli("publish", topic, "take me", "--subject", "s", "-a", "kind=order", "--json")
    )
    assert published["message_id"] and published["sequence_number"] is None
    assert cli("publish", topic, input="from stdin\n", code=0).strip()  # "-" or nothing: stdin

    received = json.loads(cli("receive", queue, "--max", "10", "--wait", "1", "--json"))
    assert [m["body"] for m in received] == ["take me"]
    assert received[0]["attributes"] == {"kind": "order"}

    listed = json.loads(cli("topics", "subscriptions", topic, "--json"))
    assert [s["arn"] for s in listed] == [subscribed["arn"]]
    assert "order" in cli("topics", "subscriptions", topic)
    assert subscribed["arn"] in cli("topics", "unsubscribe", subscribed["arn"])
    assert json.loads(cli("topics", "subscriptions", topic, "--json")) == []
    cli("topics", "delete", topic)


def test_usage_errors(cli: Any, queue_name: str) -> None:
    cli("topics", "create", queue_name)
    assert "exactly one" in cli("topics", "subscribe", queue_name, code=2)
    bad = cli("topics", "subscribe", queue_name, "--queue", "q", "--filter-policy", "{", code=2)
    assert "--filter-policy" in bad
    assert "InvalidParameter" in cli("publish", queue_name, "x", "--subject", "", code=1)
    assert "NotFound" in cli("publish", "missing-" + queue_name, "x", code=1)
    cli("topics", "delete", queue_name)
