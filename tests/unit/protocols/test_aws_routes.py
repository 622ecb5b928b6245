"""The AWS endpoint end to end over HTTP, against an in-memory stand-in for BrokerService."""

from __future__ import annotations

import warnings
import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from urllib.parse import urlencode

import orjson
import pytest
from key_table import KeyTable
from request_signing import Resigner
from starlette.applications import Starlette

from broker.core.models import (
    Caller,
    EntryFailure,
    HandleEntry,
    MessageAttributeValue,
    Queue,
    QueueSettings,
    ReceivedMessage,
    ReceiveRequest,
    SendEntry,
    SentMessage,
)
from broker.core.service import BrokerService
from broker.errors import QueueNotFound, ReceiptHandleIsInvalid
from broker.protocols.aws import aws_endpoint, aws_routes
from broker.protocols.aws.context import Authenticator
from broker.protocols.aws.sqs.endpoint import SQS_NAMESPACE

with warnings.catch_warnings():
    # Starlette 1.x warns that its test client will move from httpx to httpx2.
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

AUTH = (
    "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261126/us-east-1/{service}/aws4_request, "
    "SignedHeaders=content-type;host;x-amz-date, Signature=abcdef0123"
)
NS = {"q": SQS_NAMESPACE}
AUTHENTICATOR = Authenticator(KeyTable({"AKIDEXAMPLE": "secret"}))


def _json_headers(action: str, target: str = "AmazonSQS") -> dict[str, str]:
    return {
        "X-Amz-Target": f"{target}.{action}",
        "Content-Type": "application/x-amz-json-1.0",
        "Authorization": AUTH.format(service="sqs"),
    }


def _form_headers(service: str = "sqs") -> dict[str, str]:
    return {
        "Content-Type": "application/x-www-form-urlencoded; charset=utf-8",
        "Authorization": AUTH.format(service=service),
    }


class FakeService(BrokerService):
    """Just enough behaviour to see requests arrive decoded and results leave encoded."""

    def __init__(self) -> None:
        self.queues: dict[str, Queue] = {}
        self.sent: list[SendEntry] = []
        self.received: list[ReceiveRequest] = []
        self.to_receive: list[ReceivedMessage] = []
        self.permissions: list[tuple[str, str, list[str], list[str]]] = []

    async def add_permission(
        self,
        caller: Caller,
        queue: Queue,
        label: str,
        account_ids: Sequence[str],
        actions: Sequence[str],
    ) -> None:
        self.permissions.append((queue.name, label, list(account_ids), list(actions)))

    async def create_queue(
        self, caller: Caller, name: str, attributes: Mapping[str, str], tags: Mapping[str, str]
    ) -> Queue:
        now = datetime.now(UTC)
        queue = Queue(
            len(self.queues) + 1,
            caller.account_id,
            name,
            caller.region,
            dict(attributes),
            QueueSettings(),
            dict(tags),
            now,
            now,
        )
        self.queues[name] = queue
        return queue

    async def get_queue(
        self,
        caller: Caller,
        name: str,
        owner_account_id: str | None = None,
        action: str | None = None,
    ) -> Queue:
        queue = self.queues.get(name)
        if queue is None or (owner_account_id and owner_account_id != queue.account_id):
            raise QueueNotFound()
        return queue

    async def list_queues(
        self, caller: Caller, prefix: str | None, max_results: int | None, next_token: str | None
    ) -> tuple[list[Queue], str | None]:
        return [q for n, q in self.queues.items() if n.startswith(prefix or "")], None

    async def send_message(self, caller: Caller, queue: Queue, entry: SendEntry) -> SentMessage:
        self.sent.append(entry)
        return SentMessage(entry.id, f"m{len(self.sent)}")

    async def send_message_batch(
        self, caller: Caller, queue: Queue, entries: Sequence[SendEntry]
    ) -> list[SentMessage | EntryFailure]:
        results: list[SentMessage | EntryFailure] = []
        for entry in entries:
            if entry.body == "bad":
                results.append(EntryFailure(entry.id, ValueError("no")))
            else:
                results.append(await self.send_message(caller, queue, entry))
        return results

    async def receive_messages(
        self, caller: Caller, queue: Queue, request: ReceiveRequest
    ) -> list[ReceivedMessage]:
        self.received.append(request)
        return self.to_receive

    async def delete_message(self, caller: Caller, queue: Queue, receipt_handle: str) -> None:
        if receipt_handle == "explode":
            raise RuntimeError("database on fire")
        if receipt_handle != "rh":
            raise ReceiptHandleIsInvalid(f'The input receipt handle "{receipt_handle}" is invalid.')

    async def delete_message_batch(
        self, caller: Caller, queue: Queue, entries: Sequence[HandleEntry]
    ) -> list[str | EntryFailure]:
        return [
            e.id
            if e.receipt_handle == "rh"
            else EntryFailure(e.id, ReceiptHandleIsInvalid("invalid handle"))
            for e in entries
        ]


@pytest.fixture
def service() -> FakeService:
    return FakeService()


@pytest.fixture
def client(service: FakeService) -> TestClient:
    app = Starlette(
        routes=aws_routes(
            aws_endpoint(service, None, max_body_bytes=64 * 1024, authenticator=AUTHENTICATOR)
        )
    )
    client = TestClient(app, base_url="http://broker.test:4566", raise_server_exceptions=False)
    client.auth = Resigner()
    return client


def _create(client: TestClient, name: str = "q1") -> str:
    response = client.post(
        "/", headers=_json_headers("CreateQueue"), content=orjson.dumps({"QueueName": name})
    )
    assert response.status_code == 200, response.text
    url: str = response.json()["QueueUrl"]
    return url


def test_json_create_queue_returns_url_from_host_header(client: TestClient) -> None:
    assert _create(client) == "http://broker.test:4566/000000000000/q1"


def test_public_url_overrides_the_host(service: FakeService) -> None:
    endpoint = aws_endpoint(service, "https://mq.example.com/", authenticator=AUTHENTICATOR)
    app = Starlette(routes=aws_routes(endpoint))
    with TestClient(app) as c:
        c.auth = Resigner()
        assert _create(c) == "https://mq.example.com/000000000000/q1"


def test_json_send_message_decodes_attributes_and_returns_md5s(
    client: TestClient, service: FakeService
) -> None:
    url = _create(client).replace("broker.test:4566", "otherhost:9999")
    body = {
        "QueueUrl": url,
        "MessageBody": "hello",
        "DelaySeconds": 5,
        "MessageAttributes": {
            "attribName1": {"DataType": "String", "StringValue": "attribValue 1"}
        },
        "MessageSystemAttributes": {"AWSTraceHeader": {"DataType": "String", "StringValue": "t"}},
    }
    response = client.post("/", headers=_json_headers("SendMessage"), content=orjson.dumps(body))
    assert response.status_code == 200, response.text
    assert response.json()["MessageId"] == "m1"
    assert response.json()["MD5OfMessageBody"] == "5d41402abc4b2a76b9719d911017c592"
    assert response.json()["MD5OfMessageAttributes"] == "19e27d4e946b072f3f58da80d94fd778"
    assert "MD5OfMessageSystemAttributes" in response.json()
    assert response.headers["x-amzn-RequestId"]
    entry = service.sent[0]
    assert entry.delay_seconds == 5
    assert entry.attributes == {"attribName1": MessageAttributeValue("String", "attribValue 1")}
    assert entry.system_attributes["AWSTraceHeader"].string_value == "t"


def test_json_unknown_queue_is_queue_does_not_exist_with_legacy_header(
    client: TestClient,
) -> None:
    response = client.post(
        "/",
        headers=_json_headers("SendMessage"),
        content=orjson.dumps({"QueueUrl": "http://x/000000000000/nope", "MessageBody": "b"}),
    )
    assert response.status_code == 400
    assert (
        response.headers["x-amzn-query-error"] == "AWS.SimpleQueueService.NonExistentQueue;Sender"
    )
    assert response.json()["__type"] == "com.amazonaws.sqs#QueueDoesNotExist"


def test_json_receive_with_nothing_omits_messages(client: TestClient, service: FakeService) -> None:
    url = _create(client)
    response = client.post(
        "/",
        headers=_json_headers("ReceiveMessage"),
        content=orjson.dumps(
            {
                "QueueUrl": url,
                "MaxNumberOfMessages": 10,
                "WaitTimeSeconds": 0,
                "AttributeNames": ["SentTimestamp"],
                "MessageSystemAttributeNames": ["All"],
                "MessageAttributeNames": ["All"],
            }
        ),
    )
    assert response.status_code == 200
    assert response.json() == {}
    request = service.received[0]
    assert request.max_messages == 10
    assert request.wait_seconds == 0
    assert request.system_attribute_names == ("All", "SentTimestamp")
    assert request.attribute_names == ("All",)


def test_json_receive_encodes_messages_with_md5_over_returned_attributes(
    client: TestClient, service: FakeService
) -> None:
    url = _create(client)
    service.to_receive = [
        ReceivedMessage(
            "m1",
            "rh",
            "hello",
            {
                "binaryAttribute": MessageAttributeValue(
                    "Binary", binary_value=b"Hello binary world!"
                )
            },
            {"SentTimestamp": "1700000000000"},
        )
    ]
    response = client.post(
        "/", headers=_json_headers("ReceiveMessage"), content=orjson.dumps({"QueueUrl": url})
    )
    (message,) = response.json()["Messages"]
    assert message["MD5OfBody"] == "5d41402abc4b2a76b9719d911017c592"
    assert message["MD5OfMessageAttributes"] == "31a92b15d92f8db860eda32aceb656c3"
    assert message["Attributes"] == {"SentTimestamp": "1700000000000"}
    assert message["MessageAttributes"] == {
        "binaryAttribute": {"BinaryValue": "SGVsbG8gYmluYXJ5IHdvcmxkIQ==", "DataType": "Binary"}
    }


def test_json_batch_reports_successes_and_failures(client: TestClient) -> None:
    url = _create(client)
    response = client.post(
        "/",
        headers=_json_headers("SendMessageBatch"),
        content=orjson.dumps(
            {
                "QueueUrl": url,
                "Entries": [{"Id": "a", "MessageBody": "ok"}, {"Id": "b", "MessageBody": "bad"}],
            }
        ),
    )
    assert response.status_code == 200
    assert [s["Id"] for s in response.json()["Successful"]] == ["a"]
    (failed,) = response.json()["Failed"]
    assert failed["Id"] == "b"
    assert failed["Code"] == "InternalError"
    assert failed["SenderFault"] is False
    assert failed["Message"] == "An internal error occurred."


def test_json_wrong_member_type_is_invalid_parameter_value(client: TestClient) -> None:
    url = _create(client)
    response = client.post(
        "/",
        headers=_json_headers("ReceiveMessage"),
        content=orjson.dumps({"QueueUrl": url, "MaxNumberOfMessages": "ten"}),
    )
    assert response.status_code == 400
    assert response.headers["x-amzn-query-error"] == "InvalidParameterValue;Sender"


def test_json_invalid_body_is_a_400_not_a_500(client: TestClient) -> None:
    response = client.post("/", headers=_json_headers("ListQueues"), content=b"{oops")
    assert response.status_code == 400
    assert response.json()["__type"].endswith("SerializationException")


def test_json_unknown_sqs_operation_is_unknown_operation(client: TestClient) -> None:
    response = client.post("/", headers=_json_headers("FlyToTheMoon"), content=b"{}")
    assert response.status_code == 400
    assert response.json()["__type"].endswith("#UnknownOperationException")
    assert response.headers["x-amzn-query-error"] == "InvalidAction;Sender"


def test_eventbridge_target_is_unknown_operation_in_json_1_1(client: TestClient) -> None:
    headers = {
        **_json_headers("PutEvents", "AWSEvents"),
        "Content-Type": "application/x-amz-json-1.1",
    }
    response = client.post("/", headers=headers, content=b"{}")
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/x-amz-json-1.1"
    assert response.json()["__type"].endswith("UnknownOperationException")


def test_missing_authorization_is_403_missing_authentication_token(client: TestClient) -> None:
    headers = _json_headers("ListQueues")
    del headers["Authorization"]
    response = client.post("/", headers=headers, content=b"{}")
    assert response.status_code == 403
    assert response.headers["x-amzn-query-error"] == "MissingAuthenticationToken;Sender"


def test_malformed_authorization_is_400_incomplete_signature(client: TestClient) -> None:
    headers = {**_json_headers("ListQueues"), "Authorization": "AWS4-HMAC-SHA256 Credential=x"}
    response = client.post("/", headers=headers, content=b"{}")
    assert response.status_code == 400
    assert response.headers["x-amzn-query-error"] == "IncompleteSignature;Sender"


def test_unexpected_exception_is_internal_error_500_with_request_id(client: TestClient) -> None:
    url = _create(client)
    response = client.post(
        "/",
        headers=_json_headers("DeleteMessage"),
        content=orjson.dumps({"QueueUrl": url, "ReceiptHandle": "explode"}),
    )
    assert response.status_code == 500
    assert response.headers["x-amzn-query-error"] == "InternalError;Receiver"
    assert response.headers["x-amzn-RequestId"] in response.json()["message"]


def test_oversize_body_is_413(client: TestClient) -> None:
    response = client.post("/", headers=_json_headers("SendMessage"), content=b"x" * 70_000)
    assert response.status_code == 413
    assert response.headers["x-amzn-query-error"] == "RequestEntityTooLarge;Sender"


def test_query_create_queue_and_list_queues_answer_xml(client: TestClient) -> None:
    form = {
        "Action": "CreateQueue",
        "Version": "2012-11-05",
        "QueueName": "q2",
        "Attribute.1.Name": "VisibilityTimeout",
        "Attribute.1.Value": "40",
    }
    response = client.post("/", headers=_form_headers(), content=urlencode(form))
    assert response.status_code == 200, response.text
    root = ET.fromstring(response.content)
    assert root.findtext("q:CreateQueueResult/q:QueueUrl", namespaces=NS) == (
        "http://broker.test:4566/000000000000/q2"
    )
    response = client.get(
        "/?" + urlencode({"Action": "ListQueues", "Version": "2012-11-05"}),
        headers={"Authorization": AUTH.format(service="sqs")},
    )
    root = ET.fromstring(response.content)
    assert [e.text for e in root.findall("q:ListQueuesResult/q:QueueUrl", NS)] == [
        "http://broker.test:4566/000000000000/q2"
    ]


def test_query_post_to_the_queue_url_takes_the_queue_from_the_path(
    client: TestClient, service: FakeService
) -> None:
    _create(client)
    form = {"Action": "SendMessage", "Version": "2012-11-05", "MessageBody": "hi there"}
    response = client.post("/000000000000/q1", headers=_form_headers(), content=urlencode(form))
    assert response.status_code == 200, response.text
    root = ET.fromstring(response.content)
    assert root.findtext("q:SendMessageResult/q:MessageId", namespaces=NS) == "m1"
    assert service.sent[0].body == "hi there"


def test_query_delete_batch_failures_use_bare_codes(client: TestClient) -> None:
    url = _create(client)
    form = {
        "Action": "DeleteMessageBatch",
        "Version": "2012-11-05",
        "QueueUrl": url,
        "DeleteMessageBatchRequestEntry.1.Id": "a",
        "DeleteMessageBatchRequestEntry.1.ReceiptHandle": "rh",
        "DeleteMessageBatchRequestEntry.2.Id": "b",
        "DeleteMessageBatchRequestEntry.2.ReceiptHandle": "old",
    }
    root = ET.fromstring(client.post("/", headers=_form_headers(), content=urlencode(form)).content)
    result = root.find("q:DeleteMessageBatchResult", NS)
    assert result is not None
    assert result.findtext("q:DeleteMessageBatchResultEntry/q:Id", namespaces=NS) == "a"
    assert result.findtext("q:BatchResultErrorEntry/q:Code", namespaces=NS) == (
        "ReceiptHandleIsInvalid"
    )


def test_query_error_is_error_response_with_legacy_code(client: TestClient) -> None:
    form = {"Action": "GetQueueUrl", "Version": "2012-11-05", "QueueName": "nope"}
    response = client.post("/", headers=_form_headers(), content=urlencode(form))
    assert response.status_code == 400
    root = ET.fromstring(response.content)
    assert (
        root.findtext("q:Error/q:Code", namespaces=NS) == "AWS.SimpleQueueService.NonExistentQueue"
    )
    assert root.findtext("q:RequestId", namespaces=NS) == response.headers["x-amzn-RequestId"]


def test_query_unknown_action_is_invalid_action(client: TestClient) -> None:
    form = {"Action": "Fly", "Version": "2012-11-05"}
    response = client.post("/", headers=_form_headers(), content=urlencode(form))
    assert response.status_code == 400
    assert ET.fromstring(response.content).findtext("q:Error/q:Code", namespaces=NS) == (
        "InvalidAction"
    )


def test_query_missing_action_is_missing_action(client: TestClient) -> None:
    response = client.post("/", headers=_form_headers(), content="Version=2012-11-05")
    assert response.status_code == 400
    assert ET.fromstring(response.content).findtext("q:Error/q:Code", namespaces=NS) == (
        "MissingAction"
    )


def test_sns_query_is_invalid_action_in_the_sns_namespace(client: TestClient) -> None:
    form = {"Action": "Publish", "Version": "2010-03-31", "TopicArn": "arn", "Message": "m"}
    response = client.post("/", headers=_form_headers("sns"), content=urlencode(form))
    assert response.status_code == 400
    root = ET.fromstring(response.content)
    assert root.tag == "{http://sns.amazonaws.com/doc/2010-03-31/}ErrorResponse"


def test_query_add_permission_decodes_accounts_and_actions(
    client: TestClient, service: FakeService
) -> None:
    url = _create(client)
    form = {
        "Action": "AddPermission",
        "Version": "2012-11-05",
        "QueueUrl": url,
        "Label": "l",
        "AWSAccountId.1": "111122223333",
        "ActionName.1": "SendMessage",
        "ActionName.2": "ReceiveMessage",
    }
    response = client.post("/", headers=_form_headers(), content=urlencode(form))
    assert response.status_code == 200, response.text
    assert service.permissions == [("q1", "l", ["111122223333"], ["SendMessage", "ReceiveMessage"])]
