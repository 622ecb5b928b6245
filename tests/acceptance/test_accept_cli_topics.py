"""The topic commands of ``broker`` (topics create|list|show|delete|subscribe|subscriptions|
unsubscribe, publish) against a real server, in process through click's runner."""

from __future__ import annotations

import json
from typing import Any


def test_topic_commands(broker_cli: Any, queue_name: str) -> None:
    topic = queue_name
    created = json.loads(
        broker_cli("topics", "create", topic, "-a", "DisplayName=Orders", "-t", "team=a", "--json")
    )
    assert created["name"] == topic and created["tags"] == {"team": "a"}
    assert created["arn"].endswith(":" + topic)
    assert topic in broker_cli("topics", "create", topic, "-a", "DisplayName=Orders")
    listed = json.loads(broker_cli("topics", "list", "--prefix", topic, "--json"))
    assert [t["name"] for t in listed] == [topic]
    assert topic in broker_cli("topics", "list", "--prefix", topic)
    shown = json.loads(broker_cli("topics", "show", topic, "--json"))
    assert shown["attributes"]["DisplayName"] == "Orders" and shown["subscriptions"] == []
    assert "tag:team" in broker_cli("topics", "show", topic)
    assert json.loads(broker_cli("topics", "delete", topic, "--json")) == {"deleted": topic}
    missing = broker_cli("topics", "show", topic, code=1)
    assert "NotFound" in missing


def test_subscribe_publish_receive(broker_cli: Any, queue_name: str) -> None:
    topic, queue = queue_name, queue_name + "-q"
    broker_cli("topics", "create", topic)
    broker_cli("queues", "create", queue)
    subscribed = json.loads(
        broker_cli(
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
    table = broker_cli("topics", "show", topic)
    assert "sqs" in table and "confirmed" in table

    broker_cli("publish", topic, "skip me", "--attribute", "kind=refund")
    published = json.loads(
        broker_cli("publish", topic, "take me", "--subject", "s", "-a", "kind=order", "--json")
    )
    assert published["message_id"] and published["sequence_number"] is None
    assert broker_cli(
        "publish", topic, input="from stdin\n", code=0
    ).strip()  # "-" or nothing: stdin

    received = json.loads(broker_cli("receive", queue, "--max", "10", "--wait", "1", "--json"))
    assert [m["body"] for m in received] == ["take me"]
    assert received[0]["attributes"] == {"kind": "order"}

    listed = json.loads(broker_cli("topics", "subscriptions", topic, "--json"))
    assert [s["arn"] for s in listed] == [subscribed["arn"]]
    assert "order" in broker_cli("topics", "subscriptions", topic)
    assert subscribed["arn"] in broker_cli("topics", "unsubscribe", subscribed["arn"])
    assert json.loads(broker_cli("topics", "subscriptions", topic, "--json")) == []
    broker_cli("topics", "delete", topic)


def test_usage_errors(broker_cli: Any, queue_name: str) -> None:
    broker_cli("topics", "create", queue_name)
    assert "exactly one" in broker_cli("topics", "subscribe", queue_name, code=2)
    bad = broker_cli(
        "topics", "subscribe", queue_name, "--queue", "q", "--filter-policy", "{", code=2
    )
    assert "--filter-policy" in bad
    assert "InvalidParameter" in broker_cli("publish", queue_name, "x", "--subject", "", code=1)
    assert "NotFound" in broker_cli("publish", "missing-" + queue_name, "x", code=1)
    broker_cli("topics", "delete", queue_name)
