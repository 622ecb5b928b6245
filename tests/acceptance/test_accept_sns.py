"""SNS with boto3 against a real ``broker serve``: topics, subscriptions, filter policies,
Publish / PublishBatch into SQS queues, FIFO topics, and exact error codes."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from accept_support import error_code, http_status
from botocore.exceptions import ClientError
from sns_clients import bodies, drain, make_sns_client, queue_arn
from sns_subscriber import verify_signature


@pytest.fixture(scope="module")
def sns(broker_url: str) -> Any:
    return make_sns_client(broker_url)


@pytest.fixture
def name() -> str:
    return f"t-{uuid.uuid4().hex[:10]}"


@pytest.fixture
def topic(sns: Any, name: str) -> Iterator[str]:
    arn = sns.create_topic(Name=name)["TopicArn"]
    yield arn
    sns.delete_topic(TopicArn=arn)


def new_queue(sqs: Any, fifo: bool = False) -> tuple[str, str]:
    name = f"q-{uuid.uuid4().hex[:10]}" + (".fifo" if fifo else "")
    attributes = {"FifoQueue": "true"} if fifo else {}
    url = sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
    return url, queue_arn(sqs, url)


def subscribe_queue(sns: Any, sqs: Any, topic: str, **attributes: str) -> tuple[str, str]:
    url, arn = new_queue(sqs)
    sub = sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn, Attributes=attributes)
    assert sub["SubscriptionArn"].startswith(topic + ":")
    return url, sub["SubscriptionArn"]


# -- topics ---------------------------------------------------------------------------------


def test_create_topic_is_idempotent_and_reports_attributes(sns: Any, name: str) -> None:
    arn = sns.create_topic(
        Name=name, Attributes={"DisplayName": "d"}, Tags=[{"Key": "k", "Value": "v"}]
    )["TopicArn"]
    assert arn == f"arn:aws:sns:us-east-1:000000000000:{name}"
    assert sns.create_topic(Name=name, Attributes={"DisplayName": "d"})["TopicArn"] == arn
    with pytest.raises(ClientError) as caught:
        sns.create_topic(Name=name, Attributes={"DisplayName": "other"})
    assert error_code(caught.value) == "InvalidParameter"
    attributes = sns.get_topic_attributes(TopicArn=arn)["Attributes"]
    assert attributes["TopicArn"] == arn
    assert attributes["DisplayName"] == "d"
    assert attributes["SubscriptionsConfirmed"] == "0"
    assert "EffectiveDeliveryPolicy" in attributes
    sns.set_topic_attributes(TopicArn=arn, AttributeName="DisplayName", AttributeValue="new")
    assert sns.get_topic_attributes(TopicArn=arn)["Attributes"]["DisplayName"] == "new"
    with pytest.raises(ClientError) as caught:
        sns.set_topic_attributes(TopicArn=arn, AttributeName="Bogus", AttributeValue="x")
    assert error_code(caught.value) == "InvalidParameter"
    sns.delete_topic(TopicArn=arn)
    sns.delete_topic(TopicArn=arn)  # idempotent
    with pytest.raises(sns.exceptions.NotFoundException) as not_found:
        sns.get_topic_attributes(TopicArn=arn)
    assert http_status(not_found.value) == 404


def test_invalid_topic_names(sns: Any) -> None:
    for bad, attributes in (("has space", {}), ("x" * 257, {}), ("nofifo", {"FifoTopic": "true"})):
        with pytest.raises(ClientError) as caught:
            sns.create_topic(Name=bad, Attributes=attributes)
        assert error_code(caught.value) == "InvalidParameter"
        assert http_status(caught.value) == 400


def test_list_topics_pages_by_100(sns: Any) -> None:
    prefix = f"page-{uuid.uuid4().hex[:6]}"
    created = {sns.create_topic(Name=f"{prefix}-{i:03d}")["TopicArn"] for i in range(105)}
    seen: list[str] = []
    token = None
    pages = 0
    while True:
        page = sns.list_topics(**({"NextToken": token} if token else {}))
        pages += 1
        seen.extend(t["TopicArn"] for t in page["Topics"])
        token = page.get("NextToken")
        if not token:
            break
    assert created <= set(seen)
    assert pages >= 2
    for arn in created:
        sns.delete_topic(TopicArn=arn)


def test_tags(sns: Any, topic: str) -> None:
    sns.tag_resource(
        ResourceArn=topic, Tags=[{"Key": "a", "Value": "1"}, {"Key": "b", "Value": "2"}]
    )
    sns.untag_resource(ResourceArn=topic, TagKeys=["a"])
    assert sns.list_tags_for_resource(ResourceArn=topic)["Tags"] == [{"Key": "b", "Value": "2"}]
    too_many = [{"Key": f"k{i}", "Value": "v"} for i in range(50)]
    with pytest.raises(sns.exceptions.TagLimitExceededException):
        sns.tag_resource(ResourceArn=topic, Tags=too_many)
    with pytest.raises(sns.exceptions.ResourceNotFoundException):
        sns.list_tags_for_resource(ResourceArn=topic + "-missing")


def test_unsupported_operations_answer_clearly(sns: Any) -> None:
    with pytest.raises(ClientError) as caught:
        sns.create_platform_application(Name="p", Platform="GCM", Attributes={})
    assert error_code(caught.value) == "InvalidAction"
    assert "not supported" in caught.value.response["Error"]["Message"]
    with pytest.raises(ClientError) as sms:
        sns.publish(PhoneNumber="+15555550100", Message="hi")
    assert "not supported" in sms.value.response["Error"]["Message"]


# -- subscriptions and publishing -----------------------------------------------------------


def test_sqs_subscription_gets_a_signed_envelope(sns: Any, sqs: Any, topic: str) -> None:
    url, sub = subscribe_queue(sns, sqs, topic)
    published = sns.publish(
        TopicArn=topic,
        Message="hello",
        Subject="greeting",
        MessageAttributes={
            "store": {"DataType": "String", "StringValue": "example"},
            "price": {"DataType": "Number", "StringValue": "210.75"},
            "blob": {"DataType": "Binary", "BinaryValue": b"\x00\x01"},
        },
    )
    [message] = drain(sqs, url, 1)
    envelope = json.loads(message["Body"])
    assert list(envelope) == [
        "Type",
        "MessageId",
        "TopicArn",
        "Subject",
        "Message",
        "Timestamp",
        "SignatureVersion",
        "Signature",
        "SigningCertURL",
        "UnsubscribeURL",
        "MessageAttributes",
    ]
    assert envelope["Type"] == "Notification"
    assert envelope["MessageId"] == published["MessageId"]
    assert envelope["TopicArn"] == topic
    assert envelope["Message"] == "hello"
    assert envelope["Subject"] == "greeting"
    assert envelope["MessageAttributes"] == {
        "store": {"Type": "String", "Value": "example"},
        "price": {"Type": "Number", "Value": "210.75"},
        "blob": {"Type": "Binary", "Value": "AAE="},
    }
    assert envelope["Timestamp"].endswith("Z") and len(envelope["Timestamp"]) == 24
    assert sub in envelope["UnsubscribeURL"]
    verify_signature(envelope)
    sns.set_topic_attributes(TopicArn=topic, AttributeName="SignatureVersion", AttributeValue="2")
    sns.publish(TopicArn=topic, Message="v2")
    [second] = drain(sqs, url, 1)
    v2 = json.loads(second["Body"])
    assert v2["SignatureVersion"] == "2"
    assert "Subject" not in v2 and "MessageAttributes" not in v2
    verify_signature(v2)


def test_raw_delivery_maps_attributes(sns: Any, sqs: Any, topic: str) -> None:
    url, _ = subscribe_queue(sns, sqs, topic, RawMessageDelivery="true")
    sns.publish(
        TopicArn=topic,
        Message="raw body",
        MessageAttributes={
            "s": {"DataType": "String", "StringValue": "x"},
            "arr": {"DataType": "String.Array", "StringValue": '["a","b"]'},
            "bin": {"DataType": "Binary", "BinaryValue": b"\xff"},
        },
    )
    [message] = drain(sqs, url, 1)
    assert message["Body"] == "raw body"
    assert message["MessageAttributes"] == {
        "s": {"DataType": "String", "StringValue": "x"},
        "arr": {"DataType": "String.Array", "StringValue": '["a","b"]'},
        "bin": {"DataType": "Binary", "BinaryValue": b"\xff"},
    }


def test_subscription_attributes_and_listing(sns: Any, sqs: Any, topic: str) -> None:
    _, sub = subscribe_queue(sns, sqs, topic)
    _, arn = new_queue(sqs)
    attributes = sns.get_subscription_attributes(SubscriptionArn=sub)["Attributes"]
    assert attributes["Protocol"] == "sqs"
    assert attributes["PendingConfirmation"] == "false"
    assert attributes["RawMessageDelivery"] == "false"
    again = sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=attributes["Endpoint"])
    assert again["SubscriptionArn"] == sub  # idempotent
    policy = json.dumps({"deadLetterTargetArn": arn})
    for key, value in (
        ("RedrivePolicy", policy),
        ("RawMessageDelivery", "true"),
        ("FilterPolicy", '{"a": ["b"]}'),
        ("FilterPolicyScope", "MessageBody"),
    ):
        sns.set_subscription_attributes(
            SubscriptionArn=sub, AttributeName=key, AttributeValue=value
        )
        assert sns.get_subscription_attributes(SubscriptionArn=sub)["Attributes"][key] == value
    listed = sns.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"]
    assert [s["SubscriptionArn"] for s in listed] == [sub]
    assert sub in {s["SubscriptionArn"] for s in sns.list_subscriptions()["Subscriptions"]}
    sns.unsubscribe(SubscriptionArn=sub)
    assert sns.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"] == []
    with pytest.raises(sns.exceptions.NotFoundException):
        sns.get_subscription_attributes(SubscriptionArn=sub)
    with pytest.raises(ClientError) as caught:
        sns.subscribe(TopicArn=topic, Protocol="email", Endpoint="a@example.com")
    assert error_code(caught.value) == "InvalidParameter"
    with pytest.raises(sns.exceptions.NotFoundException):
        sns.subscribe(TopicArn=topic + "x", Protocol="sqs", Endpoint=arn)


def test_invalid_filter_policy_names_the_reason(sns: Any, sqs: Any, topic: str) -> None:
    _, sub = subscribe_queue(sns, sqs, topic)
    too_many = json.dumps({f"k{i}": ["v"] for i in range(6)})
    with pytest.raises(sns.exceptions.InvalidParameterException) as caught:
        sns.set_subscription_attributes(
            SubscriptionArn=sub, AttributeName="FilterPolicy", AttributeValue=too_many
        )
    assert caught.value.response["Error"]["Message"].startswith("Invalid parameter: FilterPolicy: ")
    with pytest.raises(sns.exceptions.InvalidParameterException):
        sns.set_subscription_attributes(
            SubscriptionArn=sub, AttributeName="FilterPolicy", AttributeValue="{not json"
        )


# One subscription per operator family; each message says which subscriptions must get it.
FILTERS: dict[str, dict[str, Any]] = {
    "exact": {"color": ["red", "blue"]},
    "numeric": {"price": [{"numeric": [">", 100, "<=", 200]}]},
    "number": {"price": [150]},
    "prefix": {"color": [{"prefix": "gre"}]},
    "suffix": {"color": [{"suffix": "ple"}]},
    "ignore_case": {"color": [{"equals-ignore-case": "RED"}]},
    "anything_but": {"color": [{"anything-but": ["red", "green"]}]},
    "anything_but_prefix": {"color": [{"anything-but": {"prefix": "gr"}}]},
    "exists": {"urgent": [{"exists": True}]},
    "not_exists": {"urgent": [{"exists": False}]},
    "cidr": {"source": [{"cidr": "10.0.0.0/24"}]},
    "or": {"$or": [{"color": ["red"]}, {"price": [{"numeric": ["<", 10]}]}]},
    "array": {"tags": ["b"]},
}
CASES: list[tuple[dict[str, Any], set[str]]] = [
    (
        {"color": "red", "price": 150},
        {"exact", "numeric", "number", "ignore_case", "anything_but_prefix", "not_exists", "or"},
    ),
    (
        {"color": "green", "price": 5, "urgent": "yes"},
        {"prefix", "exists", "or"},
    ),
    (
        {"color": "purple", "source": "10.0.0.7", "tags": ["a", "b"]},
        {"suffix", "anything_but", "anything_but_prefix", "not_exists", "cidr", "array"},
    ),
]


def _attributes(values: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for key, value in values.items():
        if isinstance(value, list):
            out[key] = {"DataType": "String.Array", "StringValue": json.dumps(value)}
        elif isinstance(value, int):
            out[key] = {"DataType": "Number", "StringValue": str(value)}
        else:
            out[key] = {"DataType": "String", "StringValue": value}
    return out


@pytest.mark.parametrize("scope", ["MessageAttributes", "MessageBody"])
def test_filter_policy_operator_families(sns: Any, sqs: Any, topic: str, scope: str) -> None:
    queues = {
        label: subscribe_queue(
            sns, sqs, topic, FilterPolicy=json.dumps(policy), FilterPolicyScope=scope
        )[0]
        for label, policy in FILTERS.items()
    }
    for index, (values, _) in enumerate(CASES):
        document = {**values, "case": index}
        if scope == "MessageBody":
            sns.publish(TopicArn=topic, Message=json.dumps(document))
        else:
            sns.publish(
                TopicArn=topic, Message=json.dumps(document), MessageAttributes=_attributes(values)
            )
    for label, url in queues.items():
        wanted = {i for i, (_, labels) in enumerate(CASES) if label in labels}
        got = {json.loads(b)["case"] for b in bodies(drain(sqs, url, len(wanted), wait=1))}
        assert got == wanted, label


def test_nested_body_policy(sns: Any, sqs: Any, topic: str) -> None:
    policy = {"order": {"kind": ["book"], "total": [{"numeric": [">=", 10]}]}}
    url, _ = subscribe_queue(
        sns, sqs, topic, FilterPolicy=json.dumps(policy), FilterPolicyScope="MessageBody"
    )
    sns.publish(TopicArn=topic, Message=json.dumps({"order": {"kind": "book", "total": 12}}))
    sns.publish(TopicArn=topic, Message=json.dumps({"order": {"kind": "book", "total": 2}}))
    sns.publish(TopicArn=topic, Message="not json")
    assert [json.loads(b)["order"]["total"] for b in bodies(drain(sqs, url, 2, wait=1))] == [12]


def test_changed_filter_policy_applies_to_the_next_publish(sns: Any, sqs: Any, topic: str) -> None:
    url, sub = subscribe_queue(sns, sqs, topic, FilterPolicy='{"k": ["a"]}')
    attribute = {"k": {"DataType": "String", "StringValue": "b"}}
    sns.publish(TopicArn=topic, Message="first", MessageAttributes=attribute)
    sns.set_subscription_attributes(
        SubscriptionArn=sub, AttributeName="FilterPolicy", AttributeValue='{"k": ["b"]}'
    )
    sns.publish(TopicArn=topic, Message="second", MessageAttributes=attribute)
    sns.set_subscription_attributes(
        SubscriptionArn=sub, AttributeName="FilterPolicy", AttributeValue=""
    )
    sns.publish(TopicArn=topic, Message="third")
    assert bodies(drain(sqs, url, 3, wait=1)) == ["second", "third"]


def test_message_structure_json(sns: Any, sqs: Any, topic: str) -> None:
    url, _ = subscribe_queue(sns, sqs, topic, RawMessageDelivery="true")
    message = json.dumps({"default": "for everyone", "sqs": "for queues"})
    sns.publish(TopicArn=topic, Message=message, MessageStructure="json")
    assert [m["Body"] for m in drain(sqs, url, 1)] == ["for queues"]
    with pytest.raises(sns.exceptions.InvalidParameterException) as caught:
        sns.publish(TopicArn=topic, Message='{"sqs": "x"}', MessageStructure="json")
    assert "No default entry" in caught.value.response["Error"]["Message"]


def test_publish_errors(sns: Any, topic: str) -> None:
    with pytest.raises(sns.exceptions.InvalidParameterException):
        sns.publish(TopicArn=topic, Message="")
    with pytest.raises(sns.exceptions.InvalidParameterException):
        sns.publish(TopicArn=topic, Message="x" * 262_145)
    with pytest.raises(sns.exceptions.InvalidParameterValueException):
        sns.publish(
            TopicArn=topic,
            Message="x",
            MessageAttributes={"n": {"DataType": "Number", "StringValue": "abc"}},
        )
    with pytest.raises(sns.exceptions.NotFoundException):
        sns.publish(TopicArn=topic + "-missing", Message="x")


def test_one_publish_reaches_every_matching_queue(sns: Any, sqs: Any, topic: str) -> None:
    urls = [subscribe_queue(sns, sqs, topic)[0] for _ in range(5)]
    sns.publish(TopicArn=topic, Message="fan-out")
    for url in urls:
        assert bodies(drain(sqs, url, 1)) == ["fan-out"]


def test_publish_batch_with_per_entry_failures(sns: Any, sqs: Any, topic: str) -> None:
    url, _ = subscribe_queue(sns, sqs, topic)
    result = sns.publish_batch(
        TopicArn=topic,
        PublishBatchRequestEntries=[
            {"Id": "ok1", "Message": "one"},
            {"Id": "bad", "Message": ""},
            {"Id": "ok2", "Message": "two", "Subject": "s"},
        ],
    )
    assert [s["Id"] for s in result["Successful"]] == ["ok1", "ok2"]
    [failed] = result["Failed"]
    assert failed["Id"] == "bad" and failed["Code"] == "InvalidParameter" and failed["SenderFault"]
    assert sorted(bodies(drain(sqs, url, 2))) == ["one", "two"]
    with pytest.raises(sns.exceptions.BatchEntryIdsNotDistinctException):
        sns.publish_batch(
            TopicArn=topic,
            PublishBatchRequestEntries=[{"Id": "a", "Message": "x"}, {"Id": "a", "Message": "y"}],
        )
    with pytest.raises(sns.exceptions.TooManyEntriesInBatchRequestException):
        sns.publish_batch(
            TopicArn=topic,
            PublishBatchRequestEntries=[{"Id": f"e{i}", "Message": "x"} for i in range(11)],
        )
    with pytest.raises(sns.exceptions.EmptyBatchRequestException):
        sns.publish_batch(TopicArn=topic, PublishBatchRequestEntries=[])


def test_fifo_topic_keeps_group_order_and_deduplicates(sns: Any, sqs: Any, name: str) -> None:
    topic = sns.create_topic(Name=name + ".fifo", Attributes={"FifoTopic": "true"})["TopicArn"]
    url, arn = new_queue(sqs, fifo=True)
    sns.subscribe(
        TopicArn=topic, Protocol="sqs", Endpoint=arn, Attributes={"RawMessageDelivery": "true"}
    )
    with pytest.raises(sns.exceptions.InvalidParameterException):
        sns.publish(TopicArn=topic, Message="no group")
    with pytest.raises(sns.exceptions.InvalidParameterException):
        sns.publish(TopicArn=topic, Message="no dedup", MessageGroupId="g")
    sequence = []
    for i in range(5):
        result = sns.publish(
            TopicArn=topic, Message=f"m{i}", MessageGroupId="g", MessageDeduplicationId=f"d{i}"
        )
        sequence.append(result["SequenceNumber"])
    duplicate = sns.publish(
        TopicArn=topic, Message="again", MessageGroupId="g", MessageDeduplicationId="d0"
    )
    assert duplicate["SequenceNumber"] == sequence[0]
    assert sequence == sorted(sequence)
    batch = sns.publish_batch(
        TopicArn=topic,
        PublishBatchRequestEntries=[
            {"Id": "a", "Message": "b0", "MessageGroupId": "g", "MessageDeduplicationId": "b0"},
            {"Id": "b", "Message": "b1", "MessageGroupId": "g", "MessageDeduplicationId": "b1"},
        ],
    )
    assert len(batch["Successful"]) == 2
    received = []
    while len(received) < 7:
        batch_messages = drain(sqs, url, 1, wait=1)
        if not batch_messages:
            break
        received.extend(m["Body"] for m in batch_messages)
    assert received == ["m0", "m1", "m2", "m3", "m4", "b0", "b1"]
    _, standard_arn = new_queue(sqs, fifo=True)
    standard = sns.create_topic(Name=name + "-std")["TopicArn"]
    with pytest.raises(sns.exceptions.InvalidParameterException):
        sns.subscribe(TopicArn=standard, Protocol="sqs", Endpoint=standard_arn)
    with pytest.raises(sns.exceptions.InvalidParameterException):
        sns.publish(TopicArn=standard, Message="x", MessageDeduplicationId="d")
    with pytest.raises(sns.exceptions.InvalidParameterException):
        sns.subscribe(TopicArn=topic, Protocol="http", Endpoint="http://127.0.0.1:9/x")
    sns.delete_topic(TopicArn=topic)
    sns.delete_topic(TopicArn=standard)
