"""boto3 SNS clients and small helpers shared by the SNS acceptance modules."""

from __future__ import annotations

import json
from typing import Any

import boto3
from accept_support import ACCESS_KEY, REGION, SECRET_KEY
from botocore.config import Config


def make_sns_client(endpoint_url: str) -> Any:
    return boto3.client(
        "sns",
        endpoint_url=endpoint_url,
        region_name=REGION,
        aws_access_key_id=ACCESS_KEY,
        aws_secret_access_key=SECRET_KEY,
        config=Config(retries={"max_attempts": 1, "mode": "standard"}),
    )


def queue_arn(sqs: Any, url: str) -> str:
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])
    return str(attributes["Attributes"]["QueueArn"])


def drain(sqs: Any, url: str, expected: int, wait: int = 2) -> list[dict[str, Any]]:
    """Receive until ``expected`` messages arrived (or a receive comes back empty)."""
    messages: list[dict[str, Any]] = []
    while len(messages) < expected:
        batch = sqs.receive_message(
            QueueUrl=url,
            MaxNumberOfMessages=10,
            WaitTimeSeconds=wait,
            MessageAttributeNames=["All"],
            AttributeNames=["All"],
        ).get("Messages", [])
        if not batch:
            break
        messages.extend(batch)
        sqs.delete_message_batch(
            QueueUrl=url,
            Entries=[
                {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(batch)
            ],
        )
    return messages


def bodies(messages: list[dict[str, Any]]) -> list[str]:
    """The published Message of each envelope (or the raw body)."""
    out = []
    for m in messages:
        try:
            document = json.loads(m["Body"])
        except ValueError:
            out.append(m["Body"])
            continue
        out.append(
            document["Message"] if isinstance(document, dict) and "Type" in document else m["Body"]
        )
    return out
