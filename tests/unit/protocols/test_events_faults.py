"""EventBridge wire identities of the broker's errors, and the members of a JSON 1.1 request."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from broker import errors
from broker.core import event_errors
from broker.protocols.aws.events.faults import events_fault
from broker.protocols.aws.events.params import EventParams, timestamp_of
from broker.protocols.aws.faults import AwsFault


@pytest.mark.parametrize(
    ("error", "shape", "status"),
    [
        (errors.InvalidParameterValue("x"), "ValidationException", 400),
        (errors.MissingParameter("x"), "ValidationException", 400),
        (errors.InvalidPattern("x"), "InvalidEventPatternException", 400),
        (event_errors.not_found("Rule", "r", "default"), "ResourceNotFoundException", 400),
        (event_errors.ResourceAlreadyExists("x"), "ResourceAlreadyExistsException", 400),
        (event_errors.IllegalStatus("x"), "IllegalStatusException", 400),
        (event_errors.LimitExceeded("x"), "LimitExceededException", 400),
        (errors.Conflict("x"), "ConcurrentModificationException", 400),
        (errors.Throttled("x"), "ThrottlingException", 400),
        (errors.AccessDenied("x"), "AccessDeniedException", 400),
        (errors.BrokerError("x"), "InternalException", 500),
    ],
)
def test_broker_errors_take_eventbridge_names(
    error: errors.BrokerError, shape: str, status: int
) -> None:
    fault = events_fault(error)
    assert (fault.shape, fault.status) == (shape, status)


def test_not_found_is_worded_as_eventbridge_words_it() -> None:
    error = event_errors.not_found("Rule", "orders", "default")
    assert error.message == "Rule orders does not exist on EventBus default."


def test_timestamps_come_as_epoch_seconds_or_iso_text() -> None:
    moment = datetime(2026, 3, 1, 12, 30, 5, tzinfo=UTC)
    assert timestamp_of("Time", moment.timestamp()) == moment
    assert timestamp_of("Time", "2026-03-01T12:30:05Z") == moment
    assert timestamp_of("Time", "2026-03-01T12:30:05") == moment
    for bad in (True, "yesterday", [1], 10**20):
        with pytest.raises(AwsFault):
            timestamp_of("Time", bad)


def test_members_of_the_wrong_type_are_serialization_faults() -> None:
    params = EventParams({"Name": 5, "Limit": "1", "Force": "yes", "Targets": [1]})
    for read in (
        lambda: params.string("Name"),
        lambda: params.integer("Limit"),
        lambda: params.boolean("Force"),
        lambda: params.objects("Targets"),
    ):
        with pytest.raises(AwsFault) as fault:
            read()
        assert fault.value.fault.shape.endswith("SerializationException")
    with pytest.raises(errors.InvalidParameterValue, match="Value null at 'ruleName'"):
        EventParams({}).required("RuleName")
