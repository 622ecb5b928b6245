"""The SNS conditions, expressed with the ``broker.errors`` tree (every BrokerError subclass
must have an SQS identity too, so SNS adds no classes). The SNS adapter maps them:

    InvalidParameterValue -> InvalidParameter     InvalidAttributeValue -> ParameterValueInvalid
    NotFound              -> NotFound (404)       ResourceNotFound      -> ResourceNotFound (404)
    OverLimit             -> TagLimitExceeded
"""

from __future__ import annotations

from broker.errors import InvalidAttributeValue, NotFound, OverLimit, ResourceNotFound

ParameterValueInvalid = InvalidAttributeValue
"""SNS's InvalidParameterValueException (code ``ParameterValueInvalid``): bad message attributes."""

TagLimitExceeded = OverLimit


def topic_not_found() -> NotFound:
    return NotFound("Topic does not exist")


def subscription_not_found() -> NotFound:
    return NotFound("Subscription does not exist")


def resource_not_found() -> ResourceNotFound:
    return ResourceNotFound("Resource does not exist")
