"""BrokerError -> EventBridge error identity (the modelled ``__type`` names, HTTP 400 for the
caller's faults, 500 for ours)."""

from __future__ import annotations

from broker import errors
from broker.core import event_errors
from broker.protocols.aws import faults
from broker.protocols.aws.faults import Fault


def _events(code: str, status: int = 400, sender: bool = True) -> Fault:
    return Fault(code, code, status, sender)


VALIDATION = _events("ValidationException")
NOT_SUPPORTED = _events("OperationDisabledException")
INTERNAL = _events("InternalException", 500, sender=False)

# Looked up along the exception's MRO, like the SQS and SNS tables.
EVENTS_FAULTS: dict[type[errors.BrokerError], Fault] = {
    errors.BrokerError: INTERNAL,
    errors.InvalidRequest: VALIDATION,
    errors.InvalidPattern: _events("InvalidEventPatternException"),
    errors.Conflict: _events("ConcurrentModificationException"),
    event_errors.ResourceAlreadyExists: _events("ResourceAlreadyExistsException"),
    event_errors.IllegalStatus: _events("IllegalStatusException"),
    errors.NotFound: _events("ResourceNotFoundException"),
    errors.OverLimit: _events("LimitExceededException"),
    errors.Throttled: _events("ThrottlingException"),
    errors.AccessDenied: _events("AccessDeniedException"),
    errors.Unavailable: faults.SERVICE_UNAVAILABLE,
}


def events_fault(error: errors.BrokerError) -> Fault:
    for cls in type(error).__mro__:
        fault = EVENTS_FAULTS.get(cls)
        if fault is not None:
            return fault
    return INTERNAL
