"""BrokerError -> SQS error identity (``__type``, legacy Query code, HTTP status, fault side).

Codes and statuses are the ``awsQueryError`` traits of the SQS Smithy model;
``InvalidParameterValue`` and the other unmodelled errors use the codes real SQS sends.
"""

from __future__ import annotations

from broker import errors
from broker.core import event_errors
from broker.protocols.aws import faults
from broker.protocols.aws.faults import Fault

_SQS = "com.amazonaws.sqs#"
_LEGACY = "AWS.SimpleQueueService."


def _modelled(shape: str, query_code: str, status: int = 400) -> Fault:
    return Fault(_SQS + shape, query_code, status)


QUEUE_DOES_NOT_EXIST = _modelled("QueueDoesNotExist", _LEGACY + "NonExistentQueue")

# Looked up along the exception's MRO, so every subclass has an answer and a new BrokerError
# subclass falls back to its parent's code until it gets its own line.
SQS_FAULTS: dict[type[errors.BrokerError], Fault] = {
    errors.BrokerError: faults.INTERNAL_ERROR,
    errors.InvalidRequest: faults.INVALID_PARAMETER_VALUE,
    errors.MissingParameter: faults.MISSING_PARAMETER,
    errors.InvalidParameterValue: faults.INVALID_PARAMETER_VALUE,
    # SQS reports an oversize message as a plain invalid parameter value.
    errors.MessageTooLarge: faults.INVALID_PARAMETER_VALUE,
    errors.InvalidPattern: faults.INVALID_PARAMETER_VALUE,
    errors.InvalidPolicyDocument: faults.INVALID_PARAMETER_VALUE,
    errors.InvalidAttributeName: _modelled("InvalidAttributeName", "InvalidAttributeName"),
    errors.InvalidAttributeValue: _modelled("InvalidAttributeValue", "InvalidAttributeValue"),
    errors.InvalidMessageContents: _modelled("InvalidMessageContents", "InvalidMessageContents"),
    errors.InvalidBatchEntryId: _modelled("InvalidBatchEntryId", _LEGACY + "InvalidBatchEntryId"),
    errors.EmptyBatchRequest: _modelled("EmptyBatchRequest", _LEGACY + "EmptyBatchRequest"),
    errors.TooManyEntriesInBatchRequest: _modelled(
        "TooManyEntriesInBatchRequest", _LEGACY + "TooManyEntriesInBatchRequest"
    ),
    errors.BatchEntryIdsNotDistinct: _modelled(
        "BatchEntryIdsNotDistinct", _LEGACY + "BatchEntryIdsNotDistinct"
    ),
    errors.BatchRequestTooLong: _modelled("BatchRequestTooLong", _LEGACY + "BatchRequestTooLong"),
    errors.ReceiptHandleIsInvalid: _modelled(
        "ReceiptHandleIsInvalid", "ReceiptHandleIsInvalid", 404
    ),
    errors.MessageNotInflight: _modelled("MessageNotInflight", _LEGACY + "MessageNotInflight"),
    errors.UnsupportedOperation: _modelled(
        "UnsupportedOperation", _LEGACY + "UnsupportedOperation"
    ),
    errors.Conflict: faults.INVALID_PARAMETER_VALUE,
    # EventBridge's own conflicts never reach an SQS action.
    event_errors.ResourceAlreadyExists: faults.INVALID_PARAMETER_VALUE,
    event_errors.IllegalStatus: faults.INVALID_PARAMETER_VALUE,
    errors.QueueAlreadyExists: _modelled("QueueNameExists", "QueueAlreadyExists"),
    errors.QueueDeletedRecently: _modelled(
        "QueueDeletedRecently", _LEGACY + "QueueDeletedRecently"
    ),
    errors.PurgeQueueInProgress: _modelled(
        "PurgeQueueInProgress", _LEGACY + "PurgeQueueInProgress", 403
    ),
    errors.NotFound: _modelled("ResourceNotFoundException", "ResourceNotFoundException", 404),
    errors.QueueNotFound: QUEUE_DOES_NOT_EXIST,
    errors.ResourceNotFound: _modelled(
        "ResourceNotFoundException", "ResourceNotFoundException", 404
    ),
    errors.AccessDenied: faults.ACCESS_DENIED,
    errors.OverLimit: _modelled("OverLimit", "OverLimit", 403),
    errors.Throttled: _modelled("RequestThrottled", "RequestThrottled", 403),
    errors.Unavailable: faults.SERVICE_UNAVAILABLE,
}


def sqs_fault(error: errors.BrokerError) -> Fault:
    for cls in type(error).__mro__:
        fault = SQS_FAULTS.get(cls)
        if fault is not None:
            return fault
    return faults.INTERNAL_ERROR


def entry_error_code(error: Exception) -> tuple[str, bool]:
    """``Failed[].Code`` and ``SenderFault`` for one batch entry.

    Batch entries carry bare codes (``ReceiptHandleIsInvalid``, ``MessageNotInflight``,
    ``InvalidParameterValue``), without the ``AWS.SimpleQueueService.`` prefix.
    """
    if not isinstance(error, errors.BrokerError):
        return faults.INTERNAL_ERROR.query_code, False
    fault = sqs_fault(error)
    return fault.query_code.removeprefix(_LEGACY), fault.sender
