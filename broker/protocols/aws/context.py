"""Who is calling and how to answer: the per-request facts every AWS handler needs."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass

from broker.core.models import Caller
from broker.protocols.aws.sigv4 import SignedRequest, parse_signed_request


@dataclass(frozen=True)
class RequestContext:
    request_id: str
    caller: Caller
    signed: SignedRequest
    base_url: str
    """Where queue URLs point: the configured public URL, else this request's scheme and host."""


def new_request_id() -> str:
    return str(uuid.uuid4())


def caller_for(signed: SignedRequest) -> Caller:
    """Map verified credentials to an account.

    Signatures are not verified yet: any well-formed credential is the default account, with the
    key id and region it names.
    """
    return Caller(access_key_id=signed.credential.access_key_id, region=signed.credential.region)


def authenticate(
    headers: Mapping[str, str], query: Mapping[str, str]
) -> tuple[SignedRequest, Caller]:
    """The one door every AWS request passes: parse its SigV4 credentials and name the caller.

    Raises ``AwsFault`` (MissingAuthenticationToken, IncompleteSignature).
    """
    signed = parse_signed_request(headers, query)
    return signed, caller_for(signed)
