"""Every BrokerError has an SQS wire identity matching the reference table (aws.md §1.3)."""

from __future__ import annotations

import pytest

from broker import errors
from broker.protocols.aws import faults
from broker.protocols.aws.sqs.faults import SQS_FAULTS, entry_error_code, sqs_fault


def _subclasses(cls: type[errors.BrokerError]) -> list[type[errors.BrokerError]]:
    found = []
    for sub in cls.__subclasses__():
        found += [sub, *_subclasses(sub)]
    return found


@pytest.mark.parametrize("cls", _subclasses(errors.BrokerError), ids=lambda c: c.__name__)
def test_every_broker_error_has_its_own_entry(cls: type[errors.BrokerError]) -> None:
    assert cls in SQS_FAULTS


def test_an_unknown_subclass_falls_back_to_its_parent() -> None:
    class NewNotFound(errors.QueueNotFound):
        pass

    assert sqs_fault(NewNotFound()) is SQS_FAULTS[errors.QueueNotFound]


@pytest.mark.parametrize(
    ("error", "shape", "code", "status", "fault_type"),
    [
        (
            errors.QueueNotFound(),
            "com.amazonaws.sqs#QueueDoesNotExist",
            "AWS.SimpleQueueService.NonExistentQueue",
            400,
            "Sender",
        ),
        (
            errors.QueueAlreadyExists("x"),
            "com.amazonaws.sqs#QueueNameExists",
            "QueueAlreadyExists",
            400,
            "Sender",
        ),
        (
            errors.ReceiptHandleIsInvalid("x"),
            "com.amazonaws.sqs#ReceiptHandleIsInvalid",
            "ReceiptHandleIsInvalid",
            404,
            "Sender",
        ),
        (
            errors.MessageNotInflight("x"),
            "com.amazonaws.sqs#MessageNotInflight",
            "AWS.SimpleQueueService.MessageNotInflight",
            400,
            "Sender",
        ),
        (
            errors.PurgeQueueInProgress("x"),
            "com.amazonaws.sqs#PurgeQueueInProgress",
            "AWS.SimpleQueueService.PurgeQueueInProgress",
            403,
            "Sender",
        ),
        (
            errors.InvalidParameterValue("x"),
            "com.amazon.coral.service#InvalidParameterValueException",
            "InvalidParameterValue",
            400,
            "Sender",
        ),
        (
            errors.MessageTooLarge("x"),
            "com.amazon.coral.service#InvalidParameterValueException",
            "InvalidParameterValue",
            400,
            "Sender",
        ),
        (
            errors.InvalidAttributeName("x"),
            "com.amazonaws.sqs#InvalidAttributeName",
            "InvalidAttributeName",
            400,
            "Sender",
        ),
        (
            errors.EmptyBatchRequest("x"),
            "com.amazonaws.sqs#EmptyBatchRequest",
            "AWS.SimpleQueueService.EmptyBatchRequest",
            400,
            "Sender",
        ),
        (
            errors.ResourceNotFound("x"),
            "com.amazonaws.sqs#ResourceNotFoundException",
            "ResourceNotFoundException",
            404,
            "Sender",
        ),
        (errors.OverLimit("x"), "com.amazonaws.sqs#OverLimit", "OverLimit", 403, "Sender"),
        (
            errors.Throttled("x"),
            "com.amazonaws.sqs#RequestThrottled",
            "RequestThrottled",
            403,
            "Sender",
        ),
        (
            errors.Unavailable("x"),
            "com.amazon.coral.service#ServiceUnavailableException",
            "ServiceUnavailable",
            503,
            "Receiver",
        ),
    ],
    ids=lambda v: type(v).__name__ if isinstance(v, Exception) else None,
)
def test_fault_matches_reference(
    error: errors.BrokerError, shape: str, code: str, status: int, fault_type: str
) -> None:
    fault = sqs_fault(error)
    assert (fault.shape, fault.query_code, fault.status, fault.fault_type) == (
        shape,
        code,
        status,
        fault_type,
    )


def test_batch_entry_codes_drop_the_legacy_prefix() -> None:
    assert entry_error_code(errors.MessageNotInflight("x")) == ("MessageNotInflight", True)
    assert entry_error_code(errors.ReceiptHandleIsInvalid("x")) == (
        "ReceiptHandleIsInvalid",
        True,
    )
    assert entry_error_code(errors.MessageTooLarge("x")) == ("InvalidParameterValue", True)
    assert entry_error_code(RuntimeError("boom")) == (faults.INTERNAL_ERROR.query_code, False)
