"""Queue operations through boto3 against a real broker: create, look up, list, delete,
attributes, tags, purge, dead-letter sources and the unsupported permission actions.

This module's server keeps AWS's 60 s cooldowns (re-create after delete, purge) so their errors
can be seen; the other modules run with the re-create cooldown off.
"""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from accept_support import account_of, error_code, http_status, wait_until
from botocore.exceptions import ClientError


@pytest.fixture(scope="module")
def broker_env() -> dict[str, str]:
    return {
        "BROKER_DELETE_RECREATE_COOLDOWN_SECONDS": "60",
        "BROKER_PURGE_COOLDOWN_SECONDS": "60",
    }


def queue_arn(url: str) -> str:
    account, name = url.rstrip("/").split("/")[-2:]
    return f"arn:aws:sqs:us-east-1:{account}:{name}"


# --- CreateQueue ------------------------------------------------------------------------------


def test_create_queue_returns_a_url_ending_in_account_and_name(sqs: Any, queue_name: str):
    url = sqs.create_queue(QueueName=queue_name)["QueueUrl"]
    account, name = url.rstrip("/").split("/")[-2:]
    assert name == queue_name
    assert account.isdigit() and len(account) == 12
    assert url.startswith("http://127.0.0.1:")


def test_create_queue_again_with_the_same_attributes_returns_the_same_url(
    sqs: Any, queue_name: str
):
    attributes = {"VisibilityTimeout": "45", "DelaySeconds": "2"}
    first = sqs.create_queue(QueueName=queue_name, Attributes=attributes)["QueueUrl"]
    again = sqs.create_queue(QueueName=queue_name, Attributes=attributes)["QueueUrl"]
    assert again == first
    # No attributes at all also matches an existing queue.
    assert sqs.create_queue(QueueName=queue_name)["QueueUrl"] == first


def test_create_queue_with_a_different_attribute_fails_with_queue_name_exists(
    sqs: Any, queue_name: str
):
    sqs.create_queue(QueueName=queue_name, Attributes={"VisibilityTimeout": "45"})
    with pytest.raises(ClientError) as caught:
        sqs.create_queue(QueueName=queue_name, Attributes={"VisibilityTimeout": "46"})
    assert error_code(caught.value) == "QueueAlreadyExists"
    assert caught.value.response["Error"]["QueryErrorCode"] == "QueueNameExists"
    assert isinstance(caught.value, sqs.exceptions.QueueNameExists)
    assert http_status(caught.value) == 400


def test_create_queue_with_an_invalid_name_fails_with_invalid_parameter_value(sqs: Any):
    for bad in ("has space", "x" * 81, "dots.not.allowed", ""):
        with pytest.raises(ClientError) as caught:
            sqs.create_queue(QueueName=bad)
        assert error_code(caught.value) in {"InvalidParameterValue", "MissingParameter"}, bad
        assert http_status(caught.value) == 400


def test_create_queue_with_an_unknown_attribute_fails_with_invalid_attribute_name(
    sqs: Any, queue_name: str
):
    with pytest.raises(ClientError) as caught:
        sqs.create_queue(QueueName=queue_name, Attributes={"NoSuchAttribute": "1"})
    assert error_code(caught.value) == "InvalidAttributeName"
    assert isinstance(caught.value, sqs.exceptions.InvalidAttributeName)


def test_create_queue_with_an_out_of_range_value_fails_with_invalid_attribute_value(
    sqs: Any, queue_name: str
):
    with pytest.raises(ClientError) as caught:
        sqs.create_queue(QueueName=queue_name, Attributes={"VisibilityTimeout": "43201"})
    assert error_code(caught.value) == "InvalidAttributeValue"
    assert isinstance(caught.value, sqs.exceptions.InvalidAttributeValue)


def test_create_fifo_queue_has_fifo_attributes(sqs: Any, queue_name: str):
    name = queue_name + ".fifo"
    url = sqs.create_queue(
        QueueName=name,
        Attributes={"FifoQueue": "true", "ContentBasedDeduplication": "true"},
    )["QueueUrl"]
    assert url.endswith("/" + name)
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert attributes["FifoQueue"] == "true"
    assert attributes["ContentBasedDeduplication"] == "true"
    assert attributes["DeduplicationScope"] == "queue"
    assert attributes["FifoThroughputLimit"] == "perQueue"


def test_create_fifo_queue_without_the_fifo_suffix_is_refused(sqs: Any, queue_name: str):
    with pytest.raises(ClientError) as caught:
        sqs.create_queue(QueueName=queue_name, Attributes={"FifoQueue": "true"})
    assert error_code(caught.value) == "InvalidParameterValue"


def test_create_queue_with_tags_sets_them(sqs: Any, queue_name: str):
    url = sqs.create_queue(QueueName=queue_name, tags={"team": "core", "env": "test"})["QueueUrl"]
    assert sqs.list_queue_tags(QueueUrl=url)["Tags"] == {"team": "core", "env": "test"}


# --- GetQueueUrl ------------------------------------------------------------------------------


def test_get_queue_url_returns_the_created_url(sqs: Any, queue_name: str):
    url = sqs.create_queue(QueueName=queue_name)["QueueUrl"]
    assert sqs.get_queue_url(QueueName=queue_name)["QueueUrl"] == url
    owner = account_of(url)
    assert sqs.get_queue_url(QueueName=queue_name, QueueOwnerAWSAccountId=owner)["QueueUrl"] == url


def test_get_queue_url_of_a_missing_queue_fails_with_the_legacy_code_and_typed_exception(
    sqs: Any, queue_name: str
):
    with pytest.raises(ClientError) as caught:
        sqs.get_queue_url(QueueName=queue_name)
    error = caught.value
    assert error.response["Error"]["Code"] == "AWS.SimpleQueueService.NonExistentQueue"
    assert error.response["Error"]["QueryErrorCode"] == "QueueDoesNotExist"
    assert error.response["Error"]["Type"] == "Sender"
    assert isinstance(error, sqs.exceptions.QueueDoesNotExist)
    assert http_status(error) == 400
    assert error.response["ResponseMetadata"]["RequestId"]


def test_queue_names_are_case_sensitive(sqs: Any, queue_name: str):
    sqs.create_queue(QueueName=queue_name.lower())
    with pytest.raises(sqs.exceptions.QueueDoesNotExist):
        sqs.get_queue_url(QueueName=queue_name.upper())


# --- ListQueues -------------------------------------------------------------------------------


def test_list_queues_filters_by_prefix(sqs: Any, queue_name: str):
    urls = {sqs.create_queue(QueueName=f"{queue_name}-{i}")["QueueUrl"] for i in range(3)}
    sqs.create_queue(QueueName=f"other-{queue_name}")
    listed = sqs.list_queues(QueueNamePrefix=queue_name)
    assert set(listed["QueueUrls"]) == urls
    assert "NextToken" not in listed


def test_list_queues_with_no_match_has_no_queue_urls(sqs: Any, queue_name: str):
    listed = sqs.list_queues(QueueNamePrefix=queue_name)
    assert listed.get("QueueUrls", []) == []
    assert "NextToken" not in listed


def test_list_queues_pages_with_max_results_and_next_token(sqs: Any, queue_name: str):
    urls = {sqs.create_queue(QueueName=f"{queue_name}-{i}")["QueueUrl"] for i in range(5)}
    pages: list[list[str]] = []
    token: str | None = None
    while True:
        kwargs: dict[str, Any] = {"QueueNamePrefix": queue_name, "MaxResults": 2}
        if token:
            kwargs["NextToken"] = token
        page = sqs.list_queues(**kwargs)
        pages.append(page.get("QueueUrls", []))
        token = page.get("NextToken")
        if not token:
            break
        assert len(pages) < 10, "paging does not end"
    assert [len(p) for p in pages] == [2, 2, 1]
    assert {u for p in pages for u in p} == urls
    # The boto3 paginator walks the same pages.
    paginator = sqs.get_paginator("list_queues")
    walked = [
        u
        for page in paginator.paginate(QueueNamePrefix=queue_name, PaginationConfig={"PageSize": 2})
        for u in page.get("QueueUrls", [])
    ]
    assert sorted(walked) == sorted(urls)


@pytest.mark.parametrize("token", ["!!!", "not base64 at all", "%%%%"])
def test_list_queues_with_a_garbage_next_token_fails_with_invalid_parameter_value(
    sqs: Any, queue_name: str, token: str
):
    sqs.create_queue(QueueName=queue_name)
    with pytest.raises(ClientError) as caught:
        sqs.list_queues(MaxResults=1, NextToken=token)
    assert error_code(caught.value) == "InvalidParameterValue"


def test_list_queues_with_an_invalid_max_results_fails(sqs: Any):
    with pytest.raises(ClientError) as caught:
        sqs.list_queues(MaxResults=1001)
    assert error_code(caught.value) == "InvalidParameterValue"


# --- DeleteQueue ------------------------------------------------------------------------------


def test_delete_queue_makes_it_unknown(sqs: Any, queue_name: str):
    url = sqs.create_queue(QueueName=queue_name)["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="left behind")
    sqs.delete_queue(QueueUrl=url)
    with pytest.raises(sqs.exceptions.QueueDoesNotExist):
        sqs.get_queue_url(QueueName=queue_name)
    with pytest.raises(sqs.exceptions.QueueDoesNotExist):
        sqs.send_message(QueueUrl=url, MessageBody="too late")
    assert url not in sqs.list_queues(QueueNamePrefix=queue_name).get("QueueUrls", [])


def test_delete_queue_of_a_missing_queue_fails_with_queue_does_not_exist(
    sqs: Any, broker_url: str, queue_name: str
):
    with pytest.raises(ClientError) as caught:
        sqs.delete_queue(QueueUrl=f"{broker_url}/000000000000/{queue_name}")
    assert error_code(caught.value) == "AWS.SimpleQueueService.NonExistentQueue"


def test_create_queue_right_after_deleting_it_fails_with_queue_deleted_recently(
    sqs: Any, queue_name: str
):
    url = sqs.create_queue(QueueName=queue_name)["QueueUrl"]
    sqs.delete_queue(QueueUrl=url)
    with pytest.raises(ClientError) as caught:
        sqs.create_queue(QueueName=queue_name)
    assert error_code(caught.value) == "AWS.SimpleQueueService.QueueDeletedRecently"
    assert caught.value.response["Error"]["QueryErrorCode"] == "QueueDeletedRecently"
    assert isinstance(caught.value, sqs.exceptions.QueueDeletedRecently)


# --- GetQueueAttributes / SetQueueAttributes --------------------------------------------------


def test_get_queue_attributes_all_returns_defaults_arn_and_timestamps(sqs: Any, queue_name: str):
    before = int(time.time())
    url = sqs.create_queue(QueueName=queue_name)["QueueUrl"]
    after = int(time.time())
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert attributes["QueueArn"] == queue_arn(url)
    expected_defaults = {
        "DelaySeconds": "0",
        "MaximumMessageSize": "1048576",
        "MessageRetentionPeriod": "345600",
        "ReceiveMessageWaitTimeSeconds": "0",
        "VisibilityTimeout": "30",
        "ApproximateNumberOfMessages": "0",
        "ApproximateNumberOfMessagesNotVisible": "0",
        "ApproximateNumberOfMessagesDelayed": "0",
    }
    assert {k: attributes.get(k) for k in expected_defaults} == expected_defaults
    # Epoch seconds, not milliseconds.
    created = int(attributes["CreatedTimestamp"])
    assert before - 5 <= created <= after + 5
    assert created <= int(attributes["LastModifiedTimestamp"]) <= after + 5
    assert "FifoQueue" not in attributes


def test_get_queue_attributes_returns_only_the_names_asked_for(sqs: Any, queue_name: str):
    url = sqs.create_queue(QueueName=queue_name, Attributes={"VisibilityTimeout": "12"})["QueueUrl"]
    attributes = sqs.get_queue_attributes(
        QueueUrl=url, AttributeNames=["VisibilityTimeout", "QueueArn"]
    )["Attributes"]
    assert attributes == {"VisibilityTimeout": "12", "QueueArn": queue_arn(url)}


def test_get_queue_attributes_with_an_unknown_name_fails_with_invalid_attribute_name(
    sqs: Any, queue_name: str
):
    url = sqs.create_queue(QueueName=queue_name)["QueueUrl"]
    with pytest.raises(ClientError) as caught:
        sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["NoSuchAttribute"])
    assert error_code(caught.value) == "InvalidAttributeName"


def test_set_queue_attributes_changes_them(sqs: Any, queue_name: str):
    url = sqs.create_queue(QueueName=queue_name)["QueueUrl"]
    sqs.set_queue_attributes(
        QueueUrl=url,
        Attributes={
            "VisibilityTimeout": "5",
            "MaximumMessageSize": "2048",
            "ReceiveMessageWaitTimeSeconds": "3",
            "MessageRetentionPeriod": "600",
            "DelaySeconds": "7",
        },
    )
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert attributes["VisibilityTimeout"] == "5"
    assert attributes["MaximumMessageSize"] == "2048"
    assert attributes["ReceiveMessageWaitTimeSeconds"] == "3"
    assert attributes["MessageRetentionPeriod"] == "600"
    assert attributes["DelaySeconds"] == "7"
    assert int(attributes["LastModifiedTimestamp"]) >= int(attributes["CreatedTimestamp"])


def test_set_queue_attributes_with_an_unknown_name_fails_with_invalid_attribute_name(
    sqs: Any, queue_name: str
):
    url = sqs.create_queue(QueueName=queue_name)["QueueUrl"]
    with pytest.raises(ClientError) as caught:
        sqs.set_queue_attributes(QueueUrl=url, Attributes={"Bogus": "1"})
    assert error_code(caught.value) == "InvalidAttributeName"
    assert http_status(caught.value) == 400


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("VisibilityTimeout", "-1"),
        ("VisibilityTimeout", "abc"),
        ("DelaySeconds", "901"),
        ("MaximumMessageSize", "1023"),
        ("MessageRetentionPeriod", "59"),
        ("ReceiveMessageWaitTimeSeconds", "21"),
    ],
)
def test_set_queue_attributes_with_an_invalid_value_fails_with_invalid_attribute_value(
    sqs: Any, queue_name: str, name: str, value: str
):
    url = sqs.create_queue(QueueName=queue_name)["QueueUrl"]
    with pytest.raises(ClientError) as caught:
        sqs.set_queue_attributes(QueueUrl=url, Attributes={name: value})
    assert error_code(caught.value) == "InvalidAttributeValue"
    assert isinstance(caught.value, sqs.exceptions.InvalidAttributeValue)
    # Nothing changed.
    current = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=[name])["Attributes"]
    assert current[name] != value


def test_set_queue_attributes_cannot_change_the_queue_type(sqs: Any, queue_name: str):
    url = sqs.create_queue(QueueName=queue_name)["QueueUrl"]
    with pytest.raises(ClientError) as caught:
        sqs.set_queue_attributes(QueueUrl=url, Attributes={"FifoQueue": "true"})
    assert error_code(caught.value) in {"InvalidAttributeName", "InvalidAttributeValue"}


# --- tags -------------------------------------------------------------------------------------


def test_tag_untag_and_list_queue_tags(sqs: Any, queue_name: str):
    url = sqs.create_queue(QueueName=queue_name)["QueueUrl"]
    assert sqs.list_queue_tags(QueueUrl=url).get("Tags", {}) == {}
    sqs.tag_queue(QueueUrl=url, Tags={"a": "1", "b": "2"})
    sqs.tag_queue(QueueUrl=url, Tags={"b": "two", "c": "3"})
    assert sqs.list_queue_tags(QueueUrl=url)["Tags"] == {"a": "1", "b": "two", "c": "3"}
    sqs.untag_queue(QueueUrl=url, TagKeys=["a", "c", "not-there"])
    assert sqs.list_queue_tags(QueueUrl=url)["Tags"] == {"b": "two"}


def test_tag_queue_of_a_missing_queue_fails_with_queue_does_not_exist(
    sqs: Any, broker_url: str, queue_name: str
):
    with pytest.raises(sqs.exceptions.QueueDoesNotExist):
        sqs.tag_queue(QueueUrl=f"{broker_url}/000000000000/{queue_name}", Tags={"a": "1"})


# --- PurgeQueue -------------------------------------------------------------------------------


def test_purge_queue_removes_visible_and_in_flight_messages(sqs: Any, queue_name: str):
    url = sqs.create_queue(QueueName=queue_name)["QueueUrl"]
    for i in range(4):
        sqs.send_message(QueueUrl=url, MessageBody=f"m{i}")
    in_flight = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=1)["Messages"]
    assert len(in_flight) == 1
    sqs.purge_queue(QueueUrl=url)

    def counts() -> dict[str, str]:
        return sqs.get_queue_attributes(
            QueueUrl=url,
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        )["Attributes"]

    wait_until(
        lambda: (
            counts()
            == {"ApproximateNumberOfMessages": "0", "ApproximateNumberOfMessagesNotVisible": "0"}
        ),
        timeout=10,
        what="the purge to empty the queue",
    )
    assert "Messages" not in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)
    # A message sent after the purge is delivered.
    sqs.send_message(QueueUrl=url, MessageBody="after")
    received = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=5)["Messages"]
    assert [m["Body"] for m in received] == ["after"]


def test_second_purge_within_the_cooldown_fails_with_purge_queue_in_progress(
    sqs: Any, queue_name: str
):
    url = sqs.create_queue(QueueName=queue_name)["QueueUrl"]
    sqs.purge_queue(QueueUrl=url)
    with pytest.raises(ClientError) as caught:
        sqs.purge_queue(QueueUrl=url)
    assert error_code(caught.value) == "AWS.SimpleQueueService.PurgeQueueInProgress"
    assert isinstance(caught.value, sqs.exceptions.PurgeQueueInProgress)
    assert http_status(caught.value) == 403


def test_purge_queue_of_a_missing_queue_fails_with_queue_does_not_exist(
    sqs: Any, broker_url: str, queue_name: str
):
    with pytest.raises(sqs.exceptions.QueueDoesNotExist):
        sqs.purge_queue(QueueUrl=f"{broker_url}/000000000000/{queue_name}")


# --- ListDeadLetterSourceQueues ---------------------------------------------------------------


def test_list_dead_letter_source_queues_returns_the_queues_redriving_to_it(
    sqs: Any, queue_name: str
):
    dlq = sqs.create_queue(QueueName=queue_name + "-dlq")["QueueUrl"]
    policy = json.dumps({"deadLetterTargetArn": queue_arn(dlq), "maxReceiveCount": 3})
    sources = {
        sqs.create_queue(QueueName=f"{queue_name}-src{i}", Attributes={"RedrivePolicy": policy})[
            "QueueUrl"
        ]
        for i in range(3)
    }
    sqs.create_queue(QueueName=queue_name + "-unrelated")
    listed = sqs.list_dead_letter_source_queues(QueueUrl=dlq)
    assert set(listed["queueUrls"]) == sources
    first = sqs.list_dead_letter_source_queues(QueueUrl=dlq, MaxResults=2)
    assert len(first["queueUrls"]) == 2
    rest = sqs.list_dead_letter_source_queues(
        QueueUrl=dlq, MaxResults=2, NextToken=first["NextToken"]
    )
    assert set(first["queueUrls"]) | set(rest["queueUrls"]) == sources
    assert "NextToken" not in rest


def test_list_dead_letter_source_queues_of_a_plain_queue_is_empty(sqs: Any, queue_name: str):
    url = sqs.create_queue(QueueName=queue_name)["QueueUrl"]
    assert sqs.list_dead_letter_source_queues(QueueUrl=url)["queueUrls"] == []


def test_redrive_policy_to_a_missing_queue_fails_with_invalid_parameter_value(
    sqs: Any, queue_name: str
):
    url = sqs.create_queue(QueueName=queue_name)["QueueUrl"]
    policy = json.dumps({"deadLetterTargetArn": queue_arn(url) + "-missing", "maxReceiveCount": 3})
    with pytest.raises(ClientError) as caught:
        sqs.set_queue_attributes(QueueUrl=url, Attributes={"RedrivePolicy": policy})
    assert error_code(caught.value) == "InvalidParameterValue"


# --- permissions (cross-account use is in test_accept_auth) -----------------------------------


def test_add_permission_writes_a_policy_statement_and_refuses_bad_input(sqs: Any, queue_name: str):
    url = sqs.create_queue(QueueName=queue_name)["QueueUrl"]
    sqs.add_permission(
        QueueUrl=url, Label="l", AWSAccountIds=["123456789012"], Actions=["SendMessage"]
    )
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["Policy"])["Attributes"]
    statement = json.loads(attributes["Policy"])["Statement"][0]
    assert statement["Principal"] == {"AWS": "arn:aws:iam::123456789012:root"}
    assert statement["Action"] == "SQS:SendMessage"
    for label, accounts, actions in (
        ("l", ["123456789012"], ["SendMessage"]),  # the label exists
        ("m", ["not-an-account"], ["SendMessage"]),
        ("m", ["123456789012"], ["CreateQueue"]),  # only the owner may
    ):
        with pytest.raises(ClientError) as caught:
            sqs.add_permission(QueueUrl=url, Label=label, AWSAccountIds=accounts, Actions=actions)
        assert error_code(caught.value) == "InvalidParameterValue"
        assert http_status(caught.value) == 400


def test_remove_permission_removes_the_statement_and_the_empty_policy(sqs: Any, queue_name: str):
    url = sqs.create_queue(QueueName=queue_name)["QueueUrl"]
    sqs.add_permission(
        QueueUrl=url, Label="l", AWSAccountIds=["123456789012"], Actions=["ReceiveMessage"]
    )
    sqs.remove_permission(QueueUrl=url, Label="l")
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert "Policy" not in attributes
    with pytest.raises(ClientError) as caught:
        sqs.remove_permission(QueueUrl=url, Label="l")
    assert error_code(caught.value) == "InvalidParameterValue"
