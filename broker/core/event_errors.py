"""The EventBridge conditions, under the broker's one tree. Two have no SQS or SNS counterpart
and are classes here (each also has an SQS identity, as every BrokerError must); the rest are
the tree's own classes under EventBridge's names. The AWS adapter maps them:

    InvalidParameterValue -> ValidationException   InvalidPattern -> InvalidEventPatternException
    ResourceAlreadyExists -> ResourceAlreadyExistsException
    IllegalStatus         -> IllegalStatusException
    NotFound              -> ResourceNotFoundException
    OverLimit             -> LimitExceededException
"""

from __future__ import annotations

from broker.errors import Conflict, InvalidParameterValue, OverLimit, ResourceNotFound


class ResourceAlreadyExists(Conflict):
    pass


class IllegalStatus(Conflict):
    """The resource is not in a state that allows the request (a replay that already ended)."""


LimitExceeded = OverLimit

ValidationFailed = InvalidParameterValue
"""A parameter that fails the EventBridge model's constraints (``ValidationException``)."""


def not_found(kind: str, name: str, bus: str | None = None) -> ResourceNotFound:
    where = f" on EventBus {bus}" if bus is not None else ""
    return ResourceNotFound(f"{kind} {name} does not exist{where}.")
