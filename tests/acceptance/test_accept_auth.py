"""Accounts, keys and SigV4 with real clients: boto3 and the AWS CLI with right and wrong keys,
presigned URLs, old dates, account A against account B for every resource kind, resource
policies (AddPermission, a queue policy letting another account's topic deliver), the admin REST
endpoints, and a disabled key refused by a second broker process within the cache time."""

from __future__ import annotations

import json
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import boto3
import httpx
import pytest
from accept_support import (
    ACCESS_KEY,
    REGION,
    SECRET_KEY,
    AwsCli,
    BrokerProcess,
    StartBroker,
    error_code,
    http_status,
    wait_until,
)
from botocore.config import Config
from botocore.exceptions import ClientError
from request_signing import presigned_url

from broker.sdk import signing

KEY_CACHE_SECONDS = 2
ADMIN = {"Authorization": f"Bearer {ACCESS_KEY}:{SECRET_KEY}"}


@pytest.fixture(scope="module")
def broker_env() -> dict[str, str]:
    return {"BROKER_KEY_CACHE_SECONDS": str(KEY_CACHE_SECONDS)}


def client(service: str, url: str, key: str, secret: str) -> Any:
    return boto3.client(
        service,
        endpoint_url=url,
        region_name=REGION,
        aws_access_key_id=key,
        aws_secret_access_key=secret,
        config=Config(retries={"max_attempts": 1, "mode": "standard"}),
    )


class Tenant:
    def __init__(self, url: str, account_id: str, key: str, secret: str) -> None:
        self.account_id = account_id
        self.key = key
        self.secret = secret
        self.sqs = client("sqs", url, key, secret)
        self.sns = client("sns", url, key, secret)


def new_tenant(url: str) -> Tenant:
    with httpx.Client(base_url=url, headers=ADMIN, timeout=30) as admin:
        created = admin.post("/v1/admin/accounts", json={"name": f"team-{uuid.uuid4().hex[:8]}"})
        assert created.status_code == 201, created.text
        account_id = created.json()["account_id"]
        issued = admin.post(f"/v1/admin/accounts/{account_id}/keys", json={})
        assert issued.status_code == 201, issued.text
        key = issued.json()
    return Tenant(url, account_id, key["access_key_id"], key["secret_access_key"])


@pytest.fixture(scope="module")
def team_a(broker_url: str) -> Tenant:
    return new_tenant(broker_url)


@pytest.fixture(scope="module")
def team_b(broker_url: str) -> Tenant:
    return new_tenant(broker_url)


def refused(call: Any, *args: Any, **kwargs: Any) -> ClientError:
    with pytest.raises(ClientError) as raised:
        call(*args, **kwargs)
    return raised.value


# --- authentication -------------------------------------------------------------------------


def test_boto3_with_the_right_key_works_and_wrong_keys_are_refused(
    broker_url: str, team_a: Tenant
) -> None:
    team_a.sqs.list_queues()
    team_a.sns.list_topics()
    for service in ("sqs", "sns"):
        wrong_secret = client(service, broker_url, team_a.key, "not-the-secret")
        unknown_key = client(service, broker_url, "AKIDNOBODY", team_a.secret)
        call = "list_queues" if service == "sqs" else "list_topics"
        mismatch = refused(getattr(wrong_secret, call))
        assert (error_code(mismatch), http_status(mismatch)) == ("SignatureDoesNotMatch", 403)
        unknown = refused(getattr(unknown_key, call))
        assert (error_code(unknown), http_status(unknown)) == ("InvalidClientTokenId", 403)


def test_the_aws_cli_with_right_and_wrong_keys(
    broker_url: str, team_a: Tenant, cli_env: dict[str, str]
) -> None:
    env = {**cli_env, "AWS_ACCESS_KEY_ID": team_a.key, "AWS_SECRET_ACCESS_KEY": team_a.secret}
    AwsCli(broker_url, env, "sqs").ok("list-queues")
    AwsCli(broker_url, env, "sns").ok("list-topics")
    wrong = AwsCli(broker_url, {**env, "AWS_SECRET_ACCESS_KEY": "wrong"}, "sqs").run("list-queues")
    assert wrong.returncode != 0 and "SignatureDoesNotMatch" in wrong.stderr
    unknown = AwsCli(broker_url, {**env, "AWS_ACCESS_KEY_ID": "AKIDNOBODY"}, "sns").run(
        "list-topics"
    )
    assert unknown.returncode != 0 and "InvalidClientTokenId" in unknown.stderr


def test_unsigned_requests_are_refused(broker_url: str) -> None:
    response = httpx.post(
        broker_url, data={"Action": "ListQueues", "Version": "2012-11-05"}, timeout=30
    )
    assert response.status_code == 403
    assert "<Code>MissingAuthenticationToken</Code>" in response.text


def test_presigned_urls(broker_url: str, team_a: Tenant) -> None:
    topic = team_a.sns.create_topic(Name=f"presigned-{uuid.uuid4().hex[:6]}")["TopicArn"]
    fresh = team_a.sns.generate_presigned_url("list_topics", ExpiresIn=300, HttpMethod="GET")
    listed = httpx.get(fresh, timeout=30)
    assert listed.status_code == 200, listed.text
    assert topic in listed.text
    tampered = fresh.replace("Action=ListTopics", "Action=ListTopics&NextToken=x")
    assert "SignatureDoesNotMatch" in httpx.get(tampered, timeout=30).text
    old = presigned_url(
        f"{broker_url}/?Action=ListTopics&Version=2010-03-31",
        team_a.key,
        team_a.secret,
        datetime.now(UTC) - timedelta(minutes=10),
        expires=300,
    )
    expired = httpx.get(old, timeout=30)
    assert expired.status_code == 400
    assert "<Code>RequestExpired</Code>" in expired.text


def test_an_old_x_amz_date_is_refused(broker_url: str, team_a: Tenant) -> None:
    body = b"Action=ListQueues&Version=2012-11-05"
    host = urlsplit(broker_url).netloc
    for minutes, accepted in ((-14, True), (-16, False), (16, False)):
        date = signing.amz_date(datetime.now(UTC) + timedelta(minutes=minutes))
        headers = {
            "content-type": "application/x-www-form-urlencoded",
            "host": host,
            "x-amz-date": date,
        }
        headers["authorization"] = signing.sign(
            "POST", "/", [], headers, body, team_a.key, team_a.secret, REGION, "sqs", date
        )
        response = httpx.post(broker_url + "/", content=body, headers=headers, timeout=30)
        if accepted:
            assert response.status_code == 200, response.text
        else:
            assert response.status_code == 403, response.text
            assert "<Code>SignatureDoesNotMatch</Code>" in response.text
            assert "Signature expired" in response.text or "not yet current" in response.text


# --- isolation ------------------------------------------------------------------------------


def test_account_b_cannot_see_or_touch_account_a_queues(team_a: Tenant, team_b: Tenant) -> None:
    name = f"private-{uuid.uuid4().hex[:8]}"
    url = team_a.sqs.create_queue(QueueName=name)["QueueUrl"]
    assert f"/{team_a.account_id}/" in url
    team_a.sqs.send_message(QueueUrl=url, MessageBody="secret")
    assert url not in team_b.sqs.list_queues(QueueNamePrefix=name).get("QueueUrls", [])
    assert error_code(refused(team_b.sqs.get_queue_url, QueueName=name)).endswith(
        "NonExistentQueue"
    )
    denied = refused(
        team_b.sqs.get_queue_url, QueueName=name, QueueOwnerAWSAccountId=team_a.account_id
    )
    assert error_code(denied) == "AccessDenied"
    for call, kwargs in (
        (team_b.sqs.send_message, {"MessageBody": "intruder"}),
        (team_b.sqs.receive_message, {}),
        (team_b.sqs.get_queue_attributes, {"AttributeNames": ["All"]}),
        (team_b.sqs.set_queue_attributes, {"Attributes": {"DelaySeconds": "5"}}),
        (team_b.sqs.purge_queue, {}),
        (team_b.sqs.delete_queue, {}),
    ):
        assert error_code(refused(call, QueueUrl=url, **kwargs)) == "AccessDenied"
    # Untouched: still there, with its one message.
    received = team_a.sqs.receive_message(QueueUrl=url, WaitTimeSeconds=1)["Messages"]
    assert [m["Body"] for m in received] == ["secret"]


def test_account_b_cannot_see_or_touch_account_a_topics_and_subscriptions(
    team_a: Tenant, team_b: Tenant
) -> None:
    topic = team_a.sns.create_topic(Name=f"private-{uuid.uuid4().hex[:8]}")["TopicArn"]
    queue = team_a.sqs.create_queue(QueueName=f"sink-{uuid.uuid4().hex[:8]}")["QueueUrl"]
    queue_arn = team_a.sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])[
        "Attributes"
    ]["QueueArn"]
    subscription = team_a.sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn)[
        "SubscriptionArn"
    ]
    topics_of_b = [t["TopicArn"] for t in team_b.sns.list_topics().get("Topics", [])]
    assert topic not in topics_of_b
    subscriptions_of_b = team_b.sns.list_subscriptions().get("Subscriptions", [])
    assert subscription not in [s["SubscriptionArn"] for s in subscriptions_of_b]
    for call, kwargs in (
        (team_b.sns.publish, {"TopicArn": topic, "Message": "intruder"}),
        (team_b.sns.get_topic_attributes, {"TopicArn": topic}),
        (
            team_b.sns.set_topic_attributes,
            {"TopicArn": topic, "AttributeName": "DisplayName", "AttributeValue": "x"},
        ),
        (team_b.sns.list_subscriptions_by_topic, {"TopicArn": topic}),
        (team_b.sns.subscribe, {"TopicArn": topic, "Protocol": "sqs", "Endpoint": queue_arn}),
        (team_b.sns.get_subscription_attributes, {"SubscriptionArn": subscription}),
        (team_b.sns.unsubscribe, {"SubscriptionArn": subscription}),
    ):
        assert error_code(refused(call, **kwargs)) in {"NotFound", "AuthorizationError"}
    team_b.sns.delete_topic(TopicArn=topic)  # idempotent: answers, deletes nothing
    assert team_a.sns.get_topic_attributes(TopicArn=topic)["Attributes"]["TopicArn"] == topic
    assert team_a.sns.get_subscription_attributes(SubscriptionArn=subscription)


# --- resource policies ----------------------------------------------------------------------


def test_add_permission_shares_chosen_actions_with_another_account(
    team_a: Tenant, team_b: Tenant
) -> None:
    url = team_a.sqs.create_queue(QueueName=f"shared-{uuid.uuid4().hex[:8]}")["QueueUrl"]
    team_a.sqs.add_permission(
        QueueUrl=url, Label="b-sends", AWSAccountIds=[team_b.account_id], Actions=["SendMessage"]
    )
    policy = json.loads(
        team_a.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["Policy"])["Attributes"][
            "Policy"
        ]
    )
    assert [s["Sid"] for s in policy["Statement"]] == ["b-sends"]
    team_b.sqs.send_message(QueueUrl=url, MessageBody="from b")
    assert error_code(refused(team_b.sqs.receive_message, QueueUrl=url)) == "AccessDenied"
    assert (
        team_a.sqs.receive_message(QueueUrl=url, WaitTimeSeconds=1)["Messages"][0]["Body"]
        == "from b"
    )
    team_a.sqs.remove_permission(QueueUrl=url, Label="b-sends")
    assert error_code(refused(team_b.sqs.send_message, QueueUrl=url, MessageBody="x")) == (
        "AccessDenied"
    )
    assert error_code(refused(team_a.sqs.remove_permission, QueueUrl=url, Label="b-sends")) == (
        "InvalidParameterValue"
    )


def test_sns_add_permission_lets_another_account_publish(team_a: Tenant, team_b: Tenant) -> None:
    topic = team_a.sns.create_topic(Name=f"shared-{uuid.uuid4().hex[:8]}")["TopicArn"]
    denied = "AuthorizationError"
    assert error_code(refused(team_b.sns.publish, TopicArn=topic, Message="x")) == denied
    team_a.sns.add_permission(
        TopicArn=topic,
        Label="b-publishes",
        AWSAccountId=[team_b.account_id],
        ActionName=["Publish"],
    )
    policy = json.loads(team_a.sns.get_topic_attributes(TopicArn=topic)["Attributes"]["Policy"])
    assert [s["Sid"] for s in policy["Statement"]][-1] == "b-publishes"
    assert team_b.sns.publish(TopicArn=topic, Message="from b")["MessageId"]
    assert error_code(refused(team_b.sns.get_topic_attributes, TopicArn=topic)) == denied
    team_a.sns.remove_permission(TopicArn=topic, Label="b-publishes")
    assert error_code(refused(team_b.sns.publish, TopicArn=topic, Message="x")) == denied


def _queue(tenant: Tenant, prefix: str) -> tuple[str, str]:
    url = tenant.sqs.create_queue(QueueName=f"{prefix}-{uuid.uuid4().hex[:8]}")["QueueUrl"]
    arn = tenant.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    return url, arn


def _topic_may_send(queue_arn: str, topic_arn: str) -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Service": "sns.amazonaws.com"},
                    "Action": "sqs:SendMessage",
                    "Resource": queue_arn,
                    "Condition": {"ArnEquals": {"aws:SourceArn": topic_arn}},
                }
            ],
        }
    )


def test_a_queue_policy_lets_another_accounts_topic_deliver(team_a: Tenant, team_b: Tenant) -> None:
    topic = team_b.sns.create_topic(Name=f"feed-{uuid.uuid4().hex[:8]}")["TopicArn"]
    allowed_url, allowed_arn = _queue(team_a, "allowed")
    closed_url, closed_arn = _queue(team_a, "closed")
    other_url, other_arn = _queue(team_a, "other-topic")
    team_a.sqs.set_queue_attributes(
        QueueUrl=allowed_url, Attributes={"Policy": _topic_may_send(allowed_arn, topic)}
    )
    team_a.sqs.set_queue_attributes(
        QueueUrl=other_url,
        Attributes={"Policy": _topic_may_send(other_arn, topic + "-not-this-one")},
    )
    for arn in (allowed_arn, closed_arn, other_arn):
        team_b.sns.subscribe(
            TopicArn=topic, Protocol="sqs", Endpoint=arn, Attributes={"RawMessageDelivery": "true"}
        )
    team_b.sns.publish(TopicArn=topic, Message="across accounts")
    # SQS deliveries commit with the publish: what is not in a queue now never will be.
    delivered = team_a.sqs.receive_message(QueueUrl=allowed_url, WaitTimeSeconds=1)
    assert [m["Body"] for m in delivered["Messages"]] == ["across accounts"]
    for url in (closed_url, other_url):
        assert "Messages" not in team_a.sqs.receive_message(QueueUrl=url)


def test_an_invalid_queue_policy_is_refused(team_a: Tenant) -> None:
    url, _ = _queue(team_a, "bad-policy")
    bad = refused(
        team_a.sqs.set_queue_attributes,
        QueueUrl=url,
        Attributes={"Policy": '{"Statement": [{"Effect": "Maybe"}]}'},
    )
    assert error_code(bad) == "InvalidAttributeValue"
    topic = team_a.sns.create_topic(Name=f"bad-policy-{uuid.uuid4().hex[:6]}")["TopicArn"]
    bad_topic = refused(
        team_a.sns.set_topic_attributes,
        TopicArn=topic,
        AttributeName="Policy",
        AttributeValue="[1, 2]",
    )
    assert error_code(bad_topic) == "InvalidParameter"


def test_a_key_policy_narrows_a_key_on_every_protocol(broker_url: str, team_a: Tenant) -> None:
    url = team_a.sqs.create_queue(QueueName=f"narrow-{uuid.uuid4().hex[:8]}")["QueueUrl"]
    policy = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "sqs:SendMessage", "Resource": "*"}],
    }
    with httpx.Client(base_url=broker_url, headers=ADMIN, timeout=30) as admin:
        issued = admin.post(f"/v1/admin/accounts/{team_a.account_id}/keys", json={}).json()
        key, secret = issued["access_key_id"], issued["secret_access_key"]
        invalid = admin.patch(f"/v1/admin/keys/{key}", json={"policy": '{"Statement": 1}'})
        assert invalid.status_code == 400, invalid.text
        updated = admin.patch(f"/v1/admin/keys/{key}", json={"policy": json.dumps(policy)})
        assert updated.status_code == 200, updated.text
    narrowed = Tenant(broker_url, team_a.account_id, key, secret)
    narrowed.sqs.send_message(QueueUrl=url, MessageBody="allowed")
    for call, kwargs in (
        (narrowed.sqs.receive_message, {"QueueUrl": url}),
        (narrowed.sqs.create_queue, {"QueueName": "not-allowed"}),
        (narrowed.sqs.list_queues, {}),
    ):
        assert error_code(refused(call, **kwargs)) == "AccessDenied"
    assert error_code(refused(narrowed.sns.list_topics)) == "AuthorizationError"
    rest = httpx.get(
        broker_url + "/v1/queues", headers={"Authorization": f"Bearer {key}:{secret}"}, timeout=30
    )
    assert rest.status_code == 403


# --- administration -------------------------------------------------------------------------


def test_admin_endpoints_need_an_admin_key(broker_url: str, team_a: Tenant) -> None:
    with httpx.Client(base_url=broker_url, timeout=30) as http:
        assert http.get("/v1/admin/accounts").status_code == 401
        tenant = http.get(
            "/v1/admin/accounts", headers={"Authorization": f"Bearer {team_a.key}:{team_a.secret}"}
        )
        assert tenant.status_code == 403
        listed = http.get("/v1/admin/keys", headers=ADMIN)
        assert listed.status_code == 200
        keys = {k["access_key_id"]: k for k in listed.json()["keys"]}
        assert keys[ACCESS_KEY]["admin"] is True
        assert keys[team_a.key]["account_id"] == team_a.account_id
        assert "secret_access_key" not in keys[team_a.key]
        assert keys[team_a.key]["last_used_at"] is not None


@pytest.fixture(scope="module")
def second_broker(start_broker: StartBroker, database_url: str) -> BrokerProcess:
    return start_broker(database_url, {"BROKER_KEY_CACHE_SECONDS": str(KEY_CACHE_SECONDS)})


def test_a_disabled_key_is_refused_by_another_process_within_the_cache_time(
    broker_url: str, second_broker: BrokerProcess, team_a: Tenant
) -> None:
    with httpx.Client(base_url=broker_url, headers=ADMIN, timeout=30) as admin:
        issued = admin.post(f"/v1/admin/accounts/{team_a.account_id}/keys", json={}).json()
        key, secret = issued["access_key_id"], issued["secret_access_key"]
        other = client("sqs", second_broker.url, key, secret)
        other.list_queues()  # the second process now holds the key in its cache
        disabled = admin.patch(f"/v1/admin/keys/{key}", json={"status": "Inactive"})
        assert disabled.status_code == 200 and disabled.json()["status"] == "Inactive"
        disabled_at = time.monotonic()

        def refused_now() -> bool:
            try:
                other.list_queues()
            except ClientError as exc:
                return error_code(exc) == "InvalidClientTokenId"
            return False

        wait_until(refused_now, timeout=KEY_CACHE_SECONDS + 5, what="the key to be refused")
        assert time.monotonic() - disabled_at <= KEY_CACHE_SECONDS + 5
        enabled = admin.patch(f"/v1/admin/keys/{key}", json={"status": "Active"})
        assert enabled.status_code == 200
        wait_until(lambda: not refused_now(), timeout=KEY_CACHE_SECONDS + 5, what="re-enabled")
        rotated = admin.post(f"/v1/admin/keys/{key}/rotate")
        assert rotated.status_code == 201
        new = rotated.json()
        client("sqs", broker_url, new["access_key_id"], new["secret_access_key"]).list_queues()
        assert admin.delete(f"/v1/admin/keys/{key}").status_code == 204
        assert admin.delete(f"/v1/admin/keys/{key}").status_code == 404
