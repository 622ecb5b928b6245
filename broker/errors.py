"""The broker's one error tree.

Core code raises these conditions; adapters translate them into their protocol's codes
(an SQS ``__type`` and ``x-amzn-query-error``, an SNS ``<Code>``, a REST problem object).
Nothing here knows about a wire format.

    BrokerError
    ├── InvalidRequest                 the caller sent something we refuse
    │   ├── MissingParameter
    │   ├── InvalidParameterValue
    │   │   ├── MessageTooLarge
    │   │   ├── InvalidPattern         an event pattern or filter policy (broker.matching)
    │   │   └── InvalidPolicyDocument  an IAM policy document (broker.core.access_policies)
    │   ├── InvalidAttributeName
    │   ├── InvalidAttributeValue
    │   ├── InvalidMessageContents
    │   ├── InvalidBatchEntryId
    │   ├── EmptyBatchRequest
    │   ├── TooManyEntriesInBatchRequest
    │   ├── BatchEntryIdsNotDistinct
    │   ├── BatchRequestTooLong
    │   ├── ReceiptHandleIsInvalid
    │   ├── MessageNotInflight
    │   └── UnsupportedOperation
    ├── Conflict                       the request clashes with the current state
    │   ├── QueueAlreadyExists
    │   ├── QueueDeletedRecently
    │   └── PurgeQueueInProgress
    ├── NotFound
    │   ├── QueueNotFound
    │   └── ResourceNotFound
    ├── AccessDenied                   authenticated, but not allowed (policies, admin rights)
    ├── OverLimit                      a quota was reached
    ├── Throttled                      capacity reached; retry later
    └── Unavailable                    a dependency (the database) is unreachable; retry later
"""

from __future__ import annotations


class BrokerError(Exception):
    """Base of every condition the broker reports to a caller."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidRequest(BrokerError):
    pass


class MissingParameter(InvalidRequest):
    pass


class InvalidParameterValue(InvalidRequest):
    pass


class MessageTooLarge(InvalidParameterValue):
    pass


class InvalidPattern(InvalidParameterValue):
    """An invalid event pattern or filter policy; ``path`` locates the fault in the JSON."""

    def __init__(self, message: str, path: str = "") -> None:
        super().__init__(message)
        self.path = path


class InvalidPolicyDocument(InvalidParameterValue):
    """A malformed IAM policy document; ``path`` locates the fault (``Statement[1].Action``)."""

    def __init__(self, message: str, path: str = "") -> None:
        super().__init__(message)
        self.path = path


class InvalidAttributeName(InvalidRequest):
    pass


class InvalidAttributeValue(InvalidRequest):
    pass


class InvalidMessageContents(InvalidRequest):
    pass


class InvalidBatchEntryId(InvalidRequest):
    pass


class EmptyBatchRequest(InvalidRequest):
    pass


class TooManyEntriesInBatchRequest(InvalidRequest):
    pass


class BatchEntryIdsNotDistinct(InvalidRequest):
    pass


class BatchRequestTooLong(InvalidRequest):
    pass


class ReceiptHandleIsInvalid(InvalidRequest):
    pass


class MessageNotInflight(InvalidRequest):
    pass


class UnsupportedOperation(InvalidRequest):
    pass


class Conflict(BrokerError):
    pass


class QueueAlreadyExists(Conflict):
    pass


class QueueDeletedRecently(Conflict):
    pass


class PurgeQueueInProgress(Conflict):
    pass


class NotFound(BrokerError):
    pass


class QueueNotFound(NotFound):
    def __init__(self, message: str = "The specified queue does not exist.") -> None:
        super().__init__(message)


class ResourceNotFound(NotFound):
    pass


class AccessDenied(BrokerError):
    pass


class OverLimit(BrokerError):
    pass


class Throttled(BrokerError):
    pass


class Unavailable(BrokerError):
    pass
