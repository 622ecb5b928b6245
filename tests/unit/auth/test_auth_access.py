"""The authorisation entry point: own account, key policies (failing closed), resource policies
for other accounts, and service principals."""

from __future__ import annotations

import json

import pytest

from broker.core import access
from broker.core.models import Caller
from broker.errors import AccessDenied

A, B = "111111111111", "222222222222"
QUEUE = f"arn:aws:sqs:us-east-1:{A}:orders"
TOPIC = f"arn:aws:sns:us-east-1:{B}:events"


def policy(*statements: dict[str, object]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


SEND_ONLY = policy({"Effect": "Allow", "Action": "sqs:SendMessage", "Resource": "*"})


def test_a_key_without_a_policy_may_do_anything_in_its_account() -> None:
    access.authorize(Caller(account_id=A), "sqs:DeleteQueue", QUEUE, A, None)
    access.authorize_key(Caller(account_id=A), "sqs:DeleteQueue", QUEUE)


def test_a_key_policy_narrows_the_key() -> None:
    caller = Caller(account_id=A, key_policy=SEND_ONLY)
    access.authorize(caller, "sqs:SendMessage", QUEUE, A, None)
    access.authorize_key(caller, "sqs:SendMessage", "*")
    with pytest.raises(AccessDenied):
        access.authorize(caller, "sqs:ReceiveMessage", QUEUE, A, None)
    with pytest.raises(AccessDenied):
        access.authorize_key(caller, "sqs:ListQueues", "*")


def test_an_invalid_key_policy_allows_nothing() -> None:
    caller = Caller(account_id=A, key_policy='{"Statement": "not a statement"}')
    with pytest.raises(AccessDenied):
        access.authorize(caller, "sqs:SendMessage", QUEUE, A, None)
    with pytest.raises(AccessDenied):
        access.authorize_key(caller, "sqs:SendMessage", QUEUE)


def test_another_account_needs_a_resource_policy_grant() -> None:
    caller = Caller(account_id=B)
    with pytest.raises(AccessDenied):
        access.authorize(caller, "sqs:SendMessage", QUEUE, A, None)
    grant = policy(
        {
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:aws:iam::{B}:root"},
            "Action": "sqs:SendMessage",
            "Resource": QUEUE,
        }
    )
    access.authorize(caller, "sqs:SendMessage", QUEUE, A, grant)
    with pytest.raises(AccessDenied):
        access.authorize(caller, "sqs:ReceiveMessage", QUEUE, A, grant)
    narrowed = Caller(
        account_id=B, key_policy=policy({"Effect": "Deny", "Action": "*", "Resource": "*"})
    )
    with pytest.raises(AccessDenied):
        access.authorize(narrowed, "sqs:SendMessage", QUEUE, A, grant)


def test_a_service_principal_needs_the_source_in_the_queue_policy() -> None:
    grant = policy(
        {
            "Effect": "Allow",
            "Principal": {"Service": "sns.amazonaws.com"},
            "Action": "sqs:SendMessage",
            "Resource": QUEUE,
            "Condition": {"ArnEquals": {"aws:SourceArn": TOPIC}},
        }
    )

    def may(policy_text: str | None, source: str) -> bool:
        return access.service_may(
            "sns.amazonaws.com", "sqs:SendMessage", QUEUE, A, policy_text, source, B
        )

    assert may(grant, TOPIC)
    assert not may(grant, TOPIC + "-other")
    assert not may(None, TOPIC)
    assert not may("not json", TOPIC)  # an unreadable stored policy grants nothing
