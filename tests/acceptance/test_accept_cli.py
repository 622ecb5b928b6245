"""The AWS CLI (v1, the venv's copy: ``python -m awscli``) against a real broker."""

from __future__ import annotations

import json
from typing import Any

import pytest
from accept_support import AwsCli, md5_of_body, md5_of_message_attributes


@pytest.fixture(scope="module")
def cli(broker_url: str, cli_env: dict[str, str]) -> AwsCli:
    return AwsCli(broker_url, cli_env, "sqs")


def test_cli_queue_and_message_lifecycle(cli: AwsCli, sqs: Any, queue_name: str):
    """Every step through the CLI; effects the CLI prints nothing for are checked with boto3."""
    url = cli.ok("create-queue", "--queue-name", queue_name)["QueueUrl"]
    assert url.endswith("/" + queue_name)

    listed = cli.ok("list-queues", "--queue-name-prefix", queue_name)
    assert listed["QueueUrls"] == [url]

    attributes = {"kind": {"DataType": "String", "StringValue": "cli"}}
    body = "sent by the aws cli ✓"
    sent = cli.ok(
        "send-message",
        "--queue-url",
        url,
        "--message-body",
        body,
        "--message-attributes",
        json.dumps(attributes),
    )
    assert sent["MD5OfMessageBody"] == md5_of_body(body)
    assert sent["MD5OfMessageAttributes"] == md5_of_message_attributes(attributes)

    queue_attributes = cli.ok(
        "get-queue-attributes", "--queue-url", url, "--attribute-names", "All"
    )["Attributes"]
    assert queue_attributes["ApproximateNumberOfMessages"] == "1"
    assert queue_attributes["QueueArn"].endswith(":" + queue_name)
    assert queue_attributes["VisibilityTimeout"] == "30"

    received = cli.ok(
        "receive-message",
        "--queue-url",
        url,
        "--attribute-names",
        "All",
        "--message-attribute-names",
        "All",
        "--wait-time-seconds",
        "5",
    )
    [message] = received["Messages"]
    assert message["MessageId"] == sent["MessageId"]
    assert message["Body"] == body
    assert message["MD5OfBody"] == md5_of_body(body)
    assert message["MessageAttributes"] == attributes
    assert message["Attributes"]["ApproximateReceiveCount"] == "1"

    handle = message["ReceiptHandle"]
    assert cli.ok("delete-message", "--queue-url", url, "--receipt-handle", handle) is None
    counts = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert counts["ApproximateNumberOfMessages"] == "0"
    assert counts["ApproximateNumberOfMessagesNotVisible"] == "0"

    sqs.send_message(QueueUrl=url, MessageBody="to be purged")
    assert cli.ok("purge-queue", "--queue-url", url) is None
    assert "Messages" not in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)

    assert cli.ok("delete-queue", "--queue-url", url) is None
    with pytest.raises(sqs.exceptions.QueueDoesNotExist):
        sqs.get_queue_url(QueueName=queue_name)


def test_cli_get_queue_url_of_a_missing_queue_fails_with_the_legacy_code(
    cli: AwsCli, queue_name: str
):
    done = cli.run("get-queue-url", "--queue-name", queue_name)
    assert done.returncode != 0
    assert "AWS.SimpleQueueService.NonExistentQueue" in done.stderr
    assert "GetQueueUrl" in done.stderr
    assert done.stdout.strip() == ""
