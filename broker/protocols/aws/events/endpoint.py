"""EventBridge over AWS JSON 1.1: run one action and answer JSON or a ``__type`` error."""

from __future__ import annotations

import logging

from starlette.responses import Response

from broker.core import access
from broker.core.event_archives import ArchiveService
from broker.core.event_destinations import DestinationService
from broker.core.events import EventService
from broker.core.models import Caller
from broker.errors import BrokerError
from broker.protocols.aws import faults
from broker.protocols.aws.events.actions import (
    ACTIONS,
    NOT_SUPPORTED_ACTIONS,
    EventsCall,
    NotSupported,
)
from broker.protocols.aws.events.faults import INTERNAL, NOT_SUPPORTED, events_fault
from broker.protocols.aws.events.key_resources import resources
from broker.protocols.aws.events.params import EventParams
from broker.protocols.aws.faults import AwsFault
from broker.protocols.aws.json_protocol import (
    JSON_1_1,
    JsonObject,
    json_error_response,
    json_response,
    parse_json_object,
)

logger = logging.getLogger(__name__)

TARGET_PREFIX = "AWSEvents"


class EventsEndpoint:
    """The EventBridge actions, for the AWS routes."""

    def __init__(
        self,
        events: EventService,
        destinations: DestinationService,
        archives: ArchiveService,
    ) -> None:
        self.events = events
        self._destinations = destinations
        self._archives = archives

    def known(self, action: str) -> bool:
        return action in ACTIONS

    async def handle(self, caller: Caller, action: str, body: bytes, request_id: str) -> Response:
        try:
            result = await self._run(caller, action, body, request_id)
        except AwsFault as fault:
            return events_error(fault, request_id)
        return json_response(result, request_id, JSON_1_1)

    async def _run(self, caller: Caller, action: str, body: bytes, request_id: str) -> JsonObject:
        handler = ACTIONS.get(action)
        if handler is None:
            if action in NOT_SUPPORTED_ACTIONS:
                raise AwsFault(
                    NOT_SUPPORTED,
                    f"The action {action} is not supported by this broker: it offers event "
                    "buses, rules, targets, connections, API destinations, archives and replays.",
                )
            raise AwsFault(
                faults.UNKNOWN_OPERATION, f"Unrecognized operation {TARGET_PREFIX}.{action}."
            )
        call = EventsCall(self.events, self._destinations, self._archives, caller)
        try:
            document = parse_json_object(body)
            if caller.key_policy is not None:
                region = self.events.limits.region
                for resource in resources(region, caller, action, document):
                    access.authorize_key(caller, f"events:{action}", resource)
            params = EventParams(document)
            return await handler(call, params)
        except AwsFault:
            raise
        except NotSupported as exc:
            raise AwsFault(NOT_SUPPORTED, str(exc)) from exc
        except BrokerError as error:
            raise AwsFault(events_fault(error), error.message) from error
        except Exception as error:
            logger.exception("EventBridge %s failed (request id %s)", action, request_id)
            raise AwsFault(
                INTERNAL, f"An internal error occurred. Request id {request_id}."
            ) from error


def events_error(fault: AwsFault, request_id: str) -> Response:
    return json_error_response(fault.fault, fault.message, request_id, JSON_1_1)
