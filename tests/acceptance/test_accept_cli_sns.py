"""The AWS CLI's ``sns`` commands against a real broker: topics, a filtered queue
subscription, publishing, and the errors."""

from __future__ import annotations

import json
from typing import Any

import pytest
from accept_support import AwsCli
from sns_clients import drain, queue_arn


@pytest.fixture(scope="module")
def sns_cli(broker_url: str, cli_env: dict[str, str]) -> AwsCli:
    return AwsCli(broker_url, cli_env, "sns")


def test_cli_topic_subscription_and_filtered_publish(sns_cli: AwsCli, sqs: Any, queue_name: str):
    topic = sns_cli.ok("create-topic", "--name", queue_name)["TopicArn"]
    assert topic.endswith(":" + queue_name)
    assert topic in [t["TopicArn"] for t in sns_cli.ok("list-topics")["Topics"]]

    url = sqs.create_queue(QueueName=queue_name)["QueueUrl"]
    subscription = sns_cli.ok(
        "subscribe",
        "--topic-arn",
        topic,
        "--protocol",
        "sqs",
        "--notification-endpoint",
        queue_arn(sqs, url),
        "--attributes",
        json.dumps({"FilterPolicy": '{"kind": ["book"]}', "RawMessageDelivery": "true"}),
        "--return-subscription-arn",
    )["SubscriptionArn"]
    listed = sns_cli.ok("list-subscriptions-by-topic", "--topic-arn", topic)["Subscriptions"]
    assert [s["SubscriptionArn"] for s in listed] == [subscription]

    for kind in ("toy", "book"):
        published = sns_cli.ok(
            "publish",
            "--topic-arn",
            topic,
            "--message",
            f"a {kind} order",
            "--message-attributes",
            json.dumps({"kind": {"DataType": "String", "StringValue": kind}}),
        )
        assert published["MessageId"]
    [message] = drain(sqs, url, 1)
    assert message["Body"] == "a book order"  # raw delivery; the toy did not match the filter
    assert message["MessageAttributes"]["kind"]["StringValue"] == "book"

    attributes = sns_cli.ok("get-subscription-attributes", "--subscription-arn", subscription)
    assert attributes["Attributes"]["RawMessageDelivery"] == "true"
    assert sns_cli.ok("unsubscribe", "--subscription-arn", subscription) is None
    assert sns_cli.ok("delete-topic", "--topic-arn", topic) is None


def test_cli_publish_to_a_missing_topic_fails_with_not_found(sns_cli: AwsCli, queue_name: str):
    done = sns_cli.run(
        "publish",
        "--topic-arn",
        f"arn:aws:sns:us-east-1:000000000000:{queue_name}",
        "--message",
        "nobody listens",
    )
    assert done.returncode != 0
    assert "NotFound" in done.stderr
