"""Dead-letter queues and message move tasks through boto3 against a real broker: the
RedrivePolicy moves a message after maxReceiveCount, and StartMessageMoveTask /
ListMessageMoveTasks / CancelMessageMoveTask redrive it (the broker's mover runs every second)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from accept_support import error_code, http_status, md5_of_message_attributes, wait_until
from botocore.exceptions import ClientError

MOVE_DEADLINE_SECONDS = 15


def arn_of(sqs: Any, url: str) -> str:
    return sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]


def visible(sqs: Any, url: str) -> int:
    attributes = sqs.get_queue_attributes(
        QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"]
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"])


def make_pair(
    sqs: Any, name: str, max_receive_count: int = 2, fifo: bool = False
) -> tuple[str, str]:
    """(source URL, dead-letter queue URL)."""
    suffix = ".fifo" if fifo else ""
    extra = {"FifoQueue": "true", "ContentBasedDeduplication": "true"} if fifo else {}
    dlq = sqs.create_queue(QueueName=f"{name}-dlq{suffix}", Attributes=extra)["QueueUrl"]
    policy = json.dumps(
        {"deadLetterTargetArn": arn_of(sqs, dlq), "maxReceiveCount": max_receive_count}
    )
    source = sqs.create_queue(
        QueueName=f"{name}-src{suffix}", Attributes={**extra, "RedrivePolicy": policy}
    )["QueueUrl"]
    return source, dlq


def exhaust(sqs: Any, url: str, receives: int) -> None:
    """Receive every message ``receives`` times, handing it back at once each time."""
    for _ in range(receives):
        messages = sqs.receive_message(
            QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=0
        ).get("Messages", [])
        assert messages, "a message vanished before reaching its maxReceiveCount"


def latest_task(sqs: Any, source_arn: str) -> dict[str, Any]:
    [task] = sqs.list_message_move_tasks(SourceArn=source_arn)["Results"]
    return task


def wait_for_status(sqs: Any, source_arn: str, status: str) -> dict[str, Any]:
    return wait_until(
        lambda: (task := latest_task(sqs, source_arn))["Status"] == status and task,
        timeout=MOVE_DEADLINE_SECONDS,
        interval=0.2,
        what=f"the move task of {source_arn} to be {status}",
    )


def test_a_message_received_max_receive_count_times_moves_to_the_dead_letter_queue(
    sqs: Any, queue_name: str
):
    source, dlq = make_pair(sqs, queue_name, max_receive_count=2)
    attributes = {"k": {"DataType": "String", "StringValue": "v"}}
    sent = sqs.send_message(QueueUrl=source, MessageBody="poison", MessageAttributes=attributes)
    exhaust(sqs, source, 2)
    # The third receive moves it instead of returning it.
    assert "Messages" not in sqs.receive_message(QueueUrl=source, MaxNumberOfMessages=10)
    [dead] = sqs.receive_message(
        QueueUrl=dlq, MessageAttributeNames=["All"], MessageSystemAttributeNames=["All"]
    )["Messages"]
    assert dead["MessageId"] == sent["MessageId"]
    assert dead["Body"] == "poison"
    assert dead["MessageAttributes"] == attributes
    assert dead["MD5OfMessageAttributes"] == md5_of_message_attributes(attributes)
    assert dead["Attributes"]["DeadLetterQueueSourceArn"] == arn_of(sqs, source)
    assert dead["Attributes"]["ApproximateReceiveCount"] == "1"


def test_a_healthy_message_stays_in_the_source_queue(sqs: Any, queue_name: str):
    source, dlq = make_pair(sqs, queue_name, max_receive_count=3)
    sqs.send_message(QueueUrl=source, MessageBody="fine")
    exhaust(sqs, source, 2)
    [message] = sqs.receive_message(QueueUrl=source)["Messages"]
    sqs.delete_message(QueueUrl=source, ReceiptHandle=message["ReceiptHandle"])
    assert visible(sqs, dlq) == 0


def test_a_fifo_message_moves_to_a_fifo_dead_letter_queue_in_order(sqs: Any, queue_name: str):
    source, dlq = make_pair(sqs, queue_name, max_receive_count=1, fifo=True)
    for body in ("f1", "f2", "f3"):
        sqs.send_message(QueueUrl=source, MessageBody=body, MessageGroupId="g")
    exhaust(sqs, source, 1)
    assert "Messages" not in sqs.receive_message(QueueUrl=source, MaxNumberOfMessages=10)
    dead = sqs.receive_message(
        QueueUrl=dlq, MaxNumberOfMessages=10, MessageSystemAttributeNames=["All"]
    )["Messages"]
    assert [m["Body"] for m in dead] == ["f1", "f2", "f3"]
    for message in dead:
        # AWS replaces the deduplication id of a moved FIFO message with its message id.
        assert message["Attributes"]["MessageDeduplicationId"] == message["MessageId"]
        assert message["Attributes"]["MessageGroupId"] == "g"


def test_a_dead_letter_queue_of_another_type_is_refused(sqs: Any, queue_name: str):
    dlq = sqs.create_queue(QueueName=queue_name + "-std")["QueueUrl"]
    policy = json.dumps({"deadLetterTargetArn": arn_of(sqs, dlq), "maxReceiveCount": 1})
    with pytest.raises(ClientError) as caught:
        sqs.create_queue(
            QueueName=queue_name + ".fifo",
            Attributes={"FifoQueue": "true", "RedrivePolicy": policy},
        )
    assert error_code(caught.value) == "InvalidParameterValue"


def test_a_redrive_allow_policy_of_deny_all_refuses_sources(sqs: Any, queue_name: str):
    dlq = sqs.create_queue(
        QueueName=queue_name + "-dlq",
        Attributes={"RedriveAllowPolicy": json.dumps({"redrivePermission": "denyAll"})},
    )["QueueUrl"]
    policy = json.dumps({"deadLetterTargetArn": arn_of(sqs, dlq), "maxReceiveCount": 1})
    with pytest.raises(ClientError) as caught:
        sqs.create_queue(QueueName=queue_name + "-src", Attributes={"RedrivePolicy": policy})
    assert error_code(caught.value) == "InvalidParameterValue"


@pytest.mark.parametrize(
    "policy",
    [
        {"maxReceiveCount": 1},
        {"deadLetterTargetArn": "DLQ", "maxReceiveCount": 0},
        "not json",
    ],
)
def test_a_malformed_redrive_policy_fails_with_invalid_attribute_value(
    sqs: Any, queue_name: str, policy: Any
):
    dlq = sqs.create_queue(QueueName=queue_name + "-dlq")["QueueUrl"]
    if isinstance(policy, dict) and policy.get("deadLetterTargetArn") == "DLQ":
        policy["deadLetterTargetArn"] = arn_of(sqs, dlq)
    text = policy if isinstance(policy, str) else json.dumps(policy)
    with pytest.raises(ClientError) as caught:
        sqs.create_queue(QueueName=queue_name + "-src", Attributes={"RedrivePolicy": text})
    assert error_code(caught.value) in {"InvalidAttributeValue", "InvalidParameterValue"}


def test_a_move_task_redrives_dead_letters_back_to_their_source_and_completes(
    sqs: Any, queue_name: str
):
    source, dlq = make_pair(sqs, queue_name, max_receive_count=1)
    for i in range(3):
        sqs.send_message(QueueUrl=source, MessageBody=f"m{i}")
    exhaust(sqs, source, 1)
    assert "Messages" not in sqs.receive_message(QueueUrl=source, MaxNumberOfMessages=10)
    assert visible(sqs, dlq) == 3
    dlq_arn = arn_of(sqs, dlq)

    handle = sqs.start_message_move_task(SourceArn=dlq_arn)["TaskHandle"]
    assert handle
    running_or_done = latest_task(sqs, dlq_arn)
    assert running_or_done["Status"] in {"RUNNING", "COMPLETED"}
    assert running_or_done["SourceArn"] == dlq_arn
    task = wait_for_status(sqs, dlq_arn, "COMPLETED")
    assert task["ApproximateNumberOfMessagesMoved"] == 3
    assert task["ApproximateNumberOfMessagesToMove"] == 3
    assert "TaskHandle" not in task  # only running tasks show their handle
    assert "DestinationArn" not in task
    assert task["StartedTimestamp"] > 1_600_000_000_000  # epoch milliseconds

    assert visible(sqs, dlq) == 0
    back = sqs.receive_message(QueueUrl=source, MaxNumberOfMessages=10, WaitTimeSeconds=2)
    assert sorted(m["Body"] for m in back["Messages"]) == ["m0", "m1", "m2"]


def test_a_move_task_to_an_explicit_destination_moves_everything_there(sqs: Any, queue_name: str):
    dlq = sqs.create_queue(QueueName=queue_name + "-dlq")["QueueUrl"]
    policy = json.dumps({"deadLetterTargetArn": arn_of(sqs, dlq), "maxReceiveCount": 1})
    sqs.create_queue(QueueName=queue_name + "-src", Attributes={"RedrivePolicy": policy})
    destination = sqs.create_queue(QueueName=queue_name + "-dest")["QueueUrl"]
    for i in range(4):
        sqs.send_message(QueueUrl=dlq, MessageBody=f"d{i}")
    dlq_arn, destination_arn = arn_of(sqs, dlq), arn_of(sqs, destination)

    sqs.start_message_move_task(
        SourceArn=dlq_arn, DestinationArn=destination_arn, MaxNumberOfMessagesPerSecond=100
    )
    task = wait_for_status(sqs, dlq_arn, "COMPLETED")
    assert task["DestinationArn"] == destination_arn
    assert task["MaxNumberOfMessagesPerSecond"] == 100
    assert task["ApproximateNumberOfMessagesMoved"] == 4
    assert visible(sqs, destination) == 4
    assert visible(sqs, dlq) == 0


def test_cancel_message_move_task_stops_a_running_task(sqs: Any, queue_name: str):
    dlq = sqs.create_queue(QueueName=queue_name + "-dlq")["QueueUrl"]
    policy = json.dumps({"deadLetterTargetArn": arn_of(sqs, dlq), "maxReceiveCount": 1})
    sqs.create_queue(QueueName=queue_name + "-src", Attributes={"RedrivePolicy": policy})
    destination = sqs.create_queue(QueueName=queue_name + "-dest")["QueueUrl"]
    sqs.send_message_batch(
        QueueUrl=dlq, Entries=[{"Id": f"e{i}", "MessageBody": f"c{i}"} for i in range(10)]
    )
    dlq_arn = arn_of(sqs, dlq)
    handle = sqs.start_message_move_task(
        SourceArn=dlq_arn,
        DestinationArn=arn_of(sqs, destination),
        MaxNumberOfMessagesPerSecond=1,
    )["TaskHandle"]
    running = latest_task(sqs, dlq_arn)
    assert running["Status"] == "RUNNING"
    assert running["TaskHandle"] == handle

    # Only one active task per source.
    with pytest.raises(ClientError) as caught:
        sqs.start_message_move_task(SourceArn=dlq_arn, DestinationArn=arn_of(sqs, destination))
    assert http_status(caught.value) == 400

    moved = sqs.cancel_message_move_task(TaskHandle=handle)["ApproximateNumberOfMessagesMoved"]
    assert 0 <= moved < 10
    task = latest_task(sqs, dlq_arn)
    assert task["Status"] in {"CANCELLING", "CANCELLED"}
    assert task["ApproximateNumberOfMessagesMoved"] < 10
    # A cancelled task cannot be cancelled again.
    with pytest.raises(ClientError):
        sqs.cancel_message_move_task(TaskHandle=handle)

    # Once it is no longer running, another task may start; the list shows the newest first.
    second = sqs.start_message_move_task(
        SourceArn=dlq_arn, DestinationArn=arn_of(sqs, destination), MaxNumberOfMessagesPerSecond=1
    )["TaskHandle"]
    assert second != handle
    both = sqs.list_message_move_tasks(SourceArn=dlq_arn, MaxResults=10)["Results"]
    assert [t["Status"] for t in both] == ["RUNNING", task["Status"]]
    assert both[0]["TaskHandle"] == second
    assert both[0]["StartedTimestamp"] >= both[1]["StartedTimestamp"]
    assert len(sqs.list_message_move_tasks(SourceArn=dlq_arn)["Results"]) == 1
    sqs.cancel_message_move_task(TaskHandle=second)


def test_start_message_move_task_on_a_queue_that_is_not_a_dead_letter_queue_is_refused(
    sqs: Any, queue_name: str
):
    url = sqs.create_queue(QueueName=queue_name)["QueueUrl"]
    with pytest.raises(ClientError) as caught:
        sqs.start_message_move_task(SourceArn=arn_of(sqs, url))
    assert error_code(caught.value) == "InvalidParameterValue"


def test_move_task_actions_on_unknown_resources_fail_with_resource_not_found(
    sqs: Any, queue_name: str
):
    missing_arn = f"arn:aws:sqs:us-east-1:000000000000:{queue_name}"
    for call in (
        lambda: sqs.start_message_move_task(SourceArn=missing_arn),
        lambda: sqs.list_message_move_tasks(SourceArn=missing_arn),
        lambda: sqs.cancel_message_move_task(TaskHandle="bm90LWEtdGFzaw=="),
    ):
        with pytest.raises(ClientError) as caught:
            call()
        assert error_code(caught.value) == "ResourceNotFoundException"
        assert http_status(caught.value) == 404
