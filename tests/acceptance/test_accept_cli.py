"""The AWS CLI (v1, the venv's copy: ``python -m awscli``) against a real broker."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from accept_support import ACCESS_KEY, REGION, SECRET_KEY, md5_of_body, md5_of_message_attributes

CLI_TIMEOUT_SECONDS = 60


@pytest.fixture(scope="module")
def cli_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Credentials from the environment only: no user config, profile or endpoint leaks in."""
    home = tmp_path_factory.mktemp("aws-home")
    env = {
        k: v for k, v in os.environ.items() if not k.startswith("AWS_") and not k.startswith("BOTO")
    }
    env.update(
        {
            "AWS_ACCESS_KEY_ID": ACCESS_KEY,
            "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
            "AWS_DEFAULT_REGION": REGION,
            "AWS_CONFIG_FILE": str(Path(home) / "config"),
            "AWS_SHARED_CREDENTIALS_FILE": str(Path(home) / "credentials"),
            "AWS_EC2_METADATA_DISABLED": "true",
            "AWS_PAGER": "",
        }
    )
    return env


class Cli:
    def __init__(self, endpoint: str, env: dict[str, str]) -> None:
        self.endpoint = endpoint
        self.env = env

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        command = [
            sys.executable,
            "-m",
            "awscli",
            "sqs",
            *args,
            "--endpoint-url",
            self.endpoint,
            "--output",
            "json",
        ]
        return subprocess.run(
            command,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=CLI_TIMEOUT_SECONDS,
            check=False,
        )

    def ok(self, *args: str) -> Any:
        """Run; it must succeed. Its JSON output, or None when it prints nothing."""
        done = self.run(*args)
        assert done.returncode == 0, f"aws sqs {' '.join(args)} failed:\n{done.stderr}"
        return json.loads(done.stdout) if done.stdout.strip() else None


@pytest.fixture(scope="module")
def cli(broker_url: str, cli_env: dict[str, str]) -> Cli:
    return Cli(broker_url, cli_env)


def test_cli_queue_and_message_lifecycle(cli: Cli, sqs: Any, queue_name: str):
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


def test_cli_get_queue_url_of_a_missing_queue_fails_with_the_legacy_code(cli: Cli, queue_name: str):
    done = cli.run("get-queue-url", "--queue-name", queue_name)
    assert done.returncode != 0
    assert "AWS.SimpleQueueService.NonExistentQueue" in done.stderr
    assert "GetQueueUrl" in done.stderr
    assert done.stdout.strip() == ""
