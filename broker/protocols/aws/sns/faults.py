"""BrokerError -> SNS error identity (``<Code>`` and HTTP status from the SNS model)."""

from __future__ import annotations

from broker import errors
from broker.protocols.aws import faults
from broker.protocols.aws.faults import Fault


def _sns(code: str, status: int = 400, sender: bool = True) -> Fault:
    return Fault(code, code, status, sender)


INVALID_PARAMETER = _sns("InvalidParameter")
NOT_SUPPORTED = _sns("InvalidAction")
INTERNAL_ERROR = _sns("InternalError", 500, sender=False)

# Looked up along the exception's MRO, like the SQS table.
SNS_FAULTS: dict[type[errors.BrokerError], Fault] = {
    errors.BrokerError: INTERNAL_ERROR,
    errors.InvalidRequest: INVALID_PARAMETER,
    errors.MissingParameter: _sns("ValidationError"),
    errors.InvalidParameterValue: INVALID_PARAMETER,
    errors.InvalidAttributeValue: _sns("ParameterValueInvalid"),
    errors.InvalidBatchEntryId: _sns("InvalidBatchEntryId"),
    errors.EmptyBatchRequest: _sns("EmptyBatchRequest"),
    errors.TooManyEntriesInBatchRequest: _sns("TooManyEntriesInBatchRequest"),
    errors.BatchEntryIdsNotDistinct: _sns("BatchEntryIdsNotDistinct"),
    errors.BatchRequestTooLong: _sns("BatchRequestTooLong"),
    errors.Conflict: _sns("ConcurrentAccess"),
    errors.NotFound: _sns("NotFound", 404),
    errors.ResourceNotFound: _sns("ResourceNotFound", 404),
    # The only quota the topic service enforces is the 50 tags of a topic.
    errors.AccessDenied: _sns("AuthorizationError", 403),
    errors.OverLimit: _sns("TagLimitExceeded"),
    errors.Throttled: _sns("Throttled", 429),
    errors.Unavailable: faults.SERVICE_UNAVAILABLE,
}


def sns_fault(error: errors.BrokerError) -> Fault:
    for cls in type(error).__mro__:
        fault = SNS_FAULTS.get(cls)
        if fault is not None:
            return fault
    return INTERNAL_ERROR
