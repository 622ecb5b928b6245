"""Queue lifecycle and attributes through the service, against PostgreSQL."""

from __future__ import annotations

import asyncio
import json
import uuid

import pytest

from broker.core.models import Caller
from broker.core.service import BrokerService
from broker.errors import (
    InvalidAttributeName,
    InvalidAttributeValue,
    InvalidParameterValue,
    QueueAlreadyExists,
    QueueDeletedRecently,
    QueueNotFound,
)


def name(prefix: str = "q") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


async def test_create_is_idempotent_with_equal_attributes(service: BrokerService, caller: Caller):
    queue_name = name()
    first = await service.create_queue(caller, queue_name, {"VisibilityTimeout": "40"}, {})
    again = await service.create_queue(caller, queue_name, {"VisibilityTimeout": "40"}, {})
    assert again.id == first.id
    assert first.settings.visibility_timeout == 40


async def test_create_standard_queue_saying_fifo_false_is_idempotent(
    service: BrokerService, caller: Caller
):
    queue_name = name()
    first = await service.create_queue(caller, queue_name, {"FifoQueue": "false"}, {})
    again = await service.create_queue(caller, queue_name, {"FifoQueue": "false"}, {})
    assert again.id == first.id
    assert not again.fifo


async def test_create_with_different_attribute_is_refused(service: BrokerService, caller: Caller):
    queue_name = name()
    await service.create_queue(caller, queue_name, {"VisibilityTimeout": "40"}, {})
    with pytest.raises(QueueAlreadyExists, match="VisibilityTimeout"):
        await service.create_queue(caller, queue_name, {"VisibilityTimeout": "41"}, {})


async def test_fifo_queue_needs_fifo_suffix_and_attribute(service: BrokerService, caller: Caller):
    with pytest.raises(InvalidParameterValue):
        await service.create_queue(caller, name(), {"FifoQueue": "true"}, {})
    with pytest.raises(InvalidParameterValue):
        await service.create_queue(caller, name() + ".fifo", {}, {})
    queue = await service.create_queue(caller, name() + ".fifo", {"FifoQueue": "true"}, {})
    assert queue.fifo
    assert queue.attributes["ContentBasedDeduplication"] == "false"


@pytest.mark.parametrize(
    ("attributes", "error"),
    [
        ({"VisibilityTimeout": "43201"}, InvalidAttributeValue),
        ({"DelaySeconds": "-1"}, InvalidAttributeValue),
        ({"MaximumMessageSize": "1023"}, InvalidAttributeValue),
        ({"MessageRetentionPeriod": "59"}, InvalidAttributeValue),
        ({"ReceiveMessageWaitTimeSeconds": "21"}, InvalidAttributeValue),
        ({"VisibilityTimeout": "ten"}, InvalidAttributeValue),
        ({"NoSuchAttribute": "1"}, InvalidAttributeName),
        ({"ContentBasedDeduplication": "true"}, InvalidAttributeName),
    ],
    ids=[
        "visibility-too-long",
        "negative-delay",
        "size-too-small",
        "retention-too-short",
        "wait-too-long",
        "not-a-number",
        "unknown-name",
        "fifo-only-on-standard",
    ],
)
async def test_attribute_rules(service: BrokerService, caller: Caller, attributes, error):
    with pytest.raises(error):
        await service.create_queue(caller, name(), attributes, {})


async def test_get_queue_after_delete_is_not_found(service: BrokerService, caller: Caller):
    queue = await service.create_queue(caller, name(), {}, {})
    await service.delete_queue(caller, queue)
    with pytest.raises(QueueNotFound):
        await service.get_queue(caller, queue.name)


async def test_recreate_within_cooldown_is_refused(
    running_broker, database_url: str, caller: Caller
):
    async with running_broker(database_url, delete_recreate_cooldown_seconds=60) as broker:
        queue = await broker.service.create_queue(caller, name(), {}, {})
        await broker.service.delete_queue(caller, queue)
        with pytest.raises(QueueDeletedRecently):
            await broker.service.create_queue(caller, queue.name, {}, {})


async def test_list_queues_pages_with_prefix(service: BrokerService, caller: Caller):
    prefix = name("list")
    created = sorted(f"{prefix}-{i}" for i in range(5))
    for queue_name in created:
        await service.create_queue(caller, queue_name, {}, {})
    page, token = await service.list_queues(caller, prefix, 2, None)
    seen = [q.name for q in page]
    while token:
        page, token = await service.list_queues(caller, prefix, 2, token)
        seen += [q.name for q in page]
    assert seen == created
    everything, token = await service.list_queues(caller, prefix, None, None)
    assert [q.name for q in everything] == created and token is None


async def test_attributes_round_trip(service: BrokerService, caller: Caller):
    queue = await service.create_queue(caller, name(), {}, {})
    await service.set_queue_attributes(
        caller, queue, {"VisibilityTimeout": "5", "DelaySeconds": "3"}
    )
    attributes = await service.get_queue_attributes(caller, queue, ["All"])
    assert attributes["VisibilityTimeout"] == "5"
    assert attributes["DelaySeconds"] == "3"
    assert attributes["QueueArn"] == queue.arn
    assert attributes["ApproximateNumberOfMessages"] == "0"
    assert int(attributes["LastModifiedTimestamp"]) >= int(attributes["CreatedTimestamp"])
    with pytest.raises(InvalidAttributeName):
        await service.get_queue_attributes(caller, queue, ["Bogus"])


async def test_redrive_policy_needs_an_existing_same_type_target(
    service: BrokerService, caller: Caller
):
    dlq = await service.create_queue(caller, name("dlq"), {}, {})
    policy = json.dumps({"deadLetterTargetArn": dlq.arn, "maxReceiveCount": 3})
    source = await service.create_queue(caller, name(), {"RedrivePolicy": policy}, {})
    assert source.settings.redrive_policy is not None
    assert source.settings.redrive_policy.max_receive_count == 3
    missing = json.dumps({"deadLetterTargetArn": dlq.arn + "x", "maxReceiveCount": 3})
    with pytest.raises(InvalidParameterValue, match="does not exist"):
        await service.create_queue(caller, name(), {"RedrivePolicy": missing}, {})
    fifo = await service.create_queue(caller, name() + ".fifo", {"FifoQueue": "true"}, {})
    with pytest.raises(InvalidParameterValue, match="same type"):
        await service.set_queue_attributes(caller, fifo, {"RedrivePolicy": policy})
    sources, _ = await service.list_dead_letter_source_queues(caller, dlq, None, None)
    assert [q.name for q in sources] == [source.name]
    await service.set_queue_attributes(caller, source, {"RedrivePolicy": ""})
    sources, _ = await service.list_dead_letter_source_queues(caller, dlq, None, None)
    assert sources == []


async def test_redrive_allow_policy_deny_all(service: BrokerService, caller: Caller):
    dlq = await service.create_queue(
        caller,
        name("dlq"),
        {"RedriveAllowPolicy": json.dumps({"redrivePermission": "denyAll"})},
        {},
    )
    policy = json.dumps({"deadLetterTargetArn": dlq.arn, "maxReceiveCount": 3})
    with pytest.raises(InvalidParameterValue, match="not allowed"):
        await service.create_queue(caller, name(), {"RedrivePolicy": policy}, {})


async def test_tags(service: BrokerService, caller: Caller):
    queue = await service.create_queue(caller, name(), {}, {"team": "a"})
    await service.tag_queue(caller, queue, {"env": "prod", "team": "b"})
    assert await service.list_queue_tags(caller, queue) == {"team": "b", "env": "prod"}
    await service.untag_queue(caller, queue, ["team"])
    assert await service.list_queue_tags(caller, queue) == {"env": "prod"}
    with pytest.raises(InvalidParameterValue):
        await service.tag_queue(caller, queue, {f"k{i}": "v" for i in range(50)})


async def test_concurrent_add_permissions_keep_every_statement(
    service: BrokerService, caller: Caller
):
    queue = await service.create_queue(caller, "shared-policy", {}, {})
    labels = [f"l{i}" for i in range(8)]
    await asyncio.gather(
        *(
            service.add_permission(caller, queue, label, [str(100000000000 + i)], ["SendMessage"])
            for i, label in enumerate(labels)
        )
    )
    policy = (await service.get_queue_attributes(caller, queue, ["Policy"]))["Policy"]
    assert sorted(s["Sid"] for s in json.loads(policy)["Statement"]) == labels
    await asyncio.gather(*(service.remove_permission(caller, queue, label) for label in labels))
    assert "Policy" not in await service.get_queue_attributes(caller, queue, ["Policy"])
