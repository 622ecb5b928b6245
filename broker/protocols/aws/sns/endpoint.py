"""SNS over Query/XML: run one action and answer ``<OpResponse>`` or ``<ErrorResponse>``."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Protocol

from starlette.responses import Response

from broker.core import access
from broker.core.models import Caller
from broker.core.topics import TopicService
from broker.errors import BrokerError
from broker.protocols.aws.faults import AwsFault, Fault
from broker.protocols.aws.json_protocol import JsonObject
from broker.protocols.aws.query_protocol import XmlNames, xml_error_response, xml_response
from broker.protocols.aws.sns.actions import (
    ACTIONS,
    NOT_SUPPORTED_ACTIONS,
    NotSupported,
    SnsCall,
    raise_not_supported,
)
from broker.protocols.aws.sns.faults import INTERNAL_ERROR, NOT_SUPPORTED, sns_fault
from broker.protocols.aws.sns.params import SnsParams

logger = logging.getLogger(__name__)

SNS_NAMESPACE = "http://sns.amazonaws.com/doc/2010-03-31/"
SNS_VERSION = "2010-03-31"
_NAMES = XmlNames()
INVALID_ACTION = Fault("InvalidAction", "InvalidAction", 400)


class Certificate(Protocol):
    """The signing certificate subscribers fetch from ``SigningCertURL``."""

    @property
    def certificate_path(self) -> str: ...

    @property
    def certificate_pem(self) -> bytes: ...


class SnsEndpoint:
    """The SNS actions and the signing certificate, for the AWS routes."""

    def __init__(self, service: TopicService, certificate: Certificate) -> None:
        self.service = service
        self._certificate = certificate

    @property
    def certificate_path(self) -> str:
        try:
            return self._certificate.certificate_path
        except BrokerError:
            return ""  # not loaded yet: nothing to serve

    def certificate_response(self) -> Response:
        return Response(self._certificate.certificate_pem, media_type="application/x-pem-file")

    async def handle(
        self,
        caller: Caller | None,
        base_url: str,
        action: str,
        fields: Mapping[str, str],
        request_id: str,
    ) -> Response:
        try:
            result = await self._run(caller, base_url, action, fields, request_id)
        except AwsFault as fault:
            return sns_error(fault.fault, fault.message, request_id)
        return xml_response(action, result, request_id, SNS_NAMESPACE, _NAMES)

    async def _run(
        self,
        caller: Caller | None,
        base_url: str,
        action: str,
        fields: Mapping[str, str],
        request_id: str,
    ) -> JsonObject | None:
        handler = ACTIONS.get(action)
        try:
            if handler is None:
                if action in NOT_SUPPORTED_ACTIONS:
                    raise_not_supported(f"The action {action}")
                raise AwsFault(
                    INVALID_ACTION, f"The action {action} is not valid for this endpoint."
                )
            assert handler is not None
            if caller is not None and caller.key_policy is not None:
                access.authorize_key(caller, f"sns:{action}", _resource(caller, fields))
            result = await handler(SnsCall(self.service, caller, base_url), SnsParams(fields))
            return result
        except AwsFault:
            raise
        except NotSupported as exc:
            raise AwsFault(NOT_SUPPORTED, str(exc)) from exc
        except BrokerError as error:
            raise AwsFault(sns_fault(error), error.message) from error
        except Exception as error:
            logger.exception("SNS %s failed (request id %s)", action, request_id)
            raise AwsFault(
                INTERNAL_ERROR, f"An internal error occurred. Request id {request_id}."
            ) from error


def _resource(caller: Caller, fields: Mapping[str, str]) -> str:
    """The topic ARN an operation addresses, for the key policy (``*`` when none)."""
    for name in ("TopicArn", "ResourceArn"):
        if fields.get(name):
            return fields[name]
    subscription = fields.get("SubscriptionArn", "")
    if subscription.count(":") == 6:
        return subscription.rsplit(":", 1)[0]  # the subscription's topic
    return "*"


def sns_error(fault: Fault, message: str, request_id: str) -> Response:
    return xml_error_response(fault, message, request_id, SNS_NAMESPACE)
