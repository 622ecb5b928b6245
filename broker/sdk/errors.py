"""What the SDK raises: one tree, with a class per broker error code.

    BrokerClientError
    ├── TransportError                 no HTTP answer (connection refused, reset, timed out)
    │   └── RequestTimeout
    └── ApiError                       the broker answered with a problem object
        ├── InvalidRequestError        400
        │   ├── InvalidParameterValue, MissingParameter, InvalidAttributeName,
        │   │   InvalidAttributeValue, InvalidMessageContents, ReceiptHandleIsInvalid,
        │   │   MessageNotInflight, UnsupportedOperation, EmptyBatchRequest,
        │   │   TooManyEntriesInBatchRequest, BatchEntryIdsNotDistinct, BatchRequestTooLong,
        │   │   InvalidBatchEntryId, RequestEntityTooLarge
        ├── AuthenticationError        401 (MissingAuthenticationToken, IncompleteSignature)
        ├── NotFoundError              404 (QueueDoesNotExist, ResourceNotFound)
        ├── ConflictError              409 (QueueNameExists, QueueDeletedRecently,
        │                                   PurgeQueueInProgress)
        ├── ThrottledError             429 (RequestThrottled, OverLimit, Throttled)
        └── ServerError                5xx (InternalFailure, InternalError, ServiceUnavailable)

Topic operations answer with SNS's codes, each a subclass of its SQS counterpart, so one
``except`` catches a condition from either service:

    InvalidParameter(InvalidParameterValue)     ValidationError(MissingParameter)
    ParameterValueInvalid(InvalidAttributeValue)
    NotFound(NotFoundError)  (no such topic or subscription; ResourceNotFound for tags)
    TagLimitExceeded(InvalidRequestError)       ConcurrentAccess(ConflictError)
    Throttled(ThrottledError)                   InternalError(ServerError)

``ApiError.code`` is the AWS error name; ``aws_code`` the legacy SQS Query code (for topics, the
SNS Query code: the same name).
"""

from __future__ import annotations

from typing import Any


class BrokerClientError(Exception):
    """Base of every error the SDK raises."""


class TransportError(BrokerClientError):
    """The request got no HTTP answer, after the retries."""


class RequestTimeout(TransportError):
    pass


class ApiError(BrokerClientError):
    """An error answer of the broker (an RFC 9457 problem object)."""

    def __init__(
        self,
        status: int,
        code: str,
        detail: str,
        aws_code: str | None = None,
        request_id: str | None = None,
        body: Any = None,
    ) -> None:
        super().__init__(f"{code}: {detail}" if detail else code)
        self.status = status
        self.code = code
        self.detail = detail
        self.aws_code = aws_code or code
        self.request_id = request_id
        self.body = body


class InvalidRequestError(ApiError):
    pass


class AuthenticationError(ApiError):
    pass


class NotFoundError(ApiError):
    pass


class ConflictError(ApiError):
    pass


class ThrottledError(ApiError):
    pass


class ServerError(ApiError):
    pass


class InvalidParameterValue(InvalidRequestError):
    pass


class MissingParameter(InvalidRequestError):
    pass


class InvalidAttributeName(InvalidRequestError):
    pass


class InvalidAttributeValue(InvalidRequestError):
    pass


class InvalidMessageContents(InvalidRequestError):
    pass


class ReceiptHandleIsInvalid(InvalidRequestError):
    pass


class MessageNotInflight(InvalidRequestError):
    pass


class UnsupportedOperation(InvalidRequestError):
    pass


class EmptyBatchRequest(InvalidRequestError):
    pass


class TooManyEntriesInBatchRequest(InvalidRequestError):
    pass


class BatchEntryIdsNotDistinct(InvalidRequestError):
    pass


class BatchRequestTooLong(InvalidRequestError):
    pass


class InvalidBatchEntryId(InvalidRequestError):
    pass


class RequestEntityTooLarge(InvalidRequestError):
    pass


class MissingAuthenticationToken(AuthenticationError):
    pass


class IncompleteSignature(AuthenticationError):
    pass


class QueueDoesNotExist(NotFoundError):
    pass


class ResourceNotFound(NotFoundError):
    pass


class QueueNameExists(ConflictError):
    pass


QueueAlreadyExists = QueueNameExists


class QueueDeletedRecently(ConflictError):
    pass


class PurgeQueueInProgress(ConflictError):
    pass


class RequestThrottled(ThrottledError):
    pass


class OverLimit(ThrottledError):
    pass


class InternalFailure(ServerError):
    pass


class ServiceUnavailable(ServerError):
    pass


# -- SNS codes (topic operations) --


class InvalidParameter(InvalidParameterValue):
    pass


class ValidationError(MissingParameter):
    pass


class ParameterValueInvalid(InvalidAttributeValue):
    pass


class NotFound(NotFoundError):
    """No such topic or subscription."""


class TagLimitExceeded(InvalidRequestError):
    pass


class ConcurrentAccess(ConflictError):
    pass


class Throttled(ThrottledError):
    pass


class InternalError(ServerError):
    pass


ERROR_CLASSES: dict[str, type[ApiError]] = {
    cls.__name__: cls
    for cls in (
        InvalidParameterValue,
        MissingParameter,
        InvalidAttributeName,
        InvalidAttributeValue,
        InvalidMessageContents,
        ReceiptHandleIsInvalid,
        MessageNotInflight,
        UnsupportedOperation,
        EmptyBatchRequest,
        TooManyEntriesInBatchRequest,
        BatchEntryIdsNotDistinct,
        BatchRequestTooLong,
        InvalidBatchEntryId,
        RequestEntityTooLarge,
        MissingAuthenticationToken,
        IncompleteSignature,
        QueueDoesNotExist,
        ResourceNotFound,
        QueueNameExists,
        QueueDeletedRecently,
        PurgeQueueInProgress,
        RequestThrottled,
        OverLimit,
        InternalFailure,
        ServiceUnavailable,
        InvalidParameter,
        ValidationError,
        ParameterValueInvalid,
        NotFound,
        TagLimitExceeded,
        ConcurrentAccess,
        Throttled,
        InternalError,
    )
}

_BY_STATUS: dict[int, type[ApiError]] = {
    401: AuthenticationError,
    403: AuthenticationError,
    404: NotFoundError,
    409: ConflictError,
    429: ThrottledError,
}


def error_class(status: int, code: str) -> type[ApiError]:
    """The class of an error answer: by code, else by status family."""
    cls = ERROR_CLASSES.get(code)
    if cls is not None:
        return cls
    if status in _BY_STATUS:
        return _BY_STATUS[status]
    if status >= 500:
        return ServerError
    if status >= 400:
        return InvalidRequestError
    return ApiError
