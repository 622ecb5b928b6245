"""AWS error identities and the protocol-level errors raised before the core is reached.

A ``Fault`` is how one error looks on the wire: the JSON ``__type``, the legacy Query code (also
sent in ``x-amzn-query-error`` so query-compatible SDKs report the code users check), the HTTP
status and whether the sender or the receiver is to blame.
"""

from __future__ import annotations

from dataclasses import dataclass

_CORAL = "com.amazon.coral.service#"


@dataclass(frozen=True)
class Fault:
    shape: str
    """The JSON protocol ``__type`` (botocore strips any ``namespace#`` prefix)."""
    query_code: str
    """The Query protocol ``<Code>`` and the code in ``x-amzn-query-error``."""
    status: int
    sender: bool = True

    @property
    def fault_type(self) -> str:
        return "Sender" if self.sender else "Receiver"


class AwsFault(Exception):
    """A request the adapter refuses before any service call (auth, framing, unknown action)."""

    def __init__(self, fault: Fault, message: str) -> None:
        super().__init__(message)
        self.fault = fault
        self.message = message


# Faults common to every AWS service we speak; names follow what AWS front ends return.
MISSING_AUTHENTICATION_TOKEN = Fault(
    _CORAL + "MissingAuthenticationTokenException", "MissingAuthenticationToken", 403
)
INCOMPLETE_SIGNATURE = Fault(_CORAL + "IncompleteSignatureException", "IncompleteSignature", 400)
# Signature verification. The JSON ``__type`` is what JSON services send; the Query code is what
# SQS and SNS report (and what query-compatible SDKs read from ``x-amzn-query-error``).
INVALID_CLIENT_TOKEN_ID = Fault(_CORAL + "UnrecognizedClientException", "InvalidClientTokenId", 403)
SIGNATURE_DOES_NOT_MATCH = Fault(_CORAL + "InvalidSignatureException", "SignatureDoesNotMatch", 403)
REQUEST_EXPIRED = Fault(_CORAL + "RequestExpired", "RequestExpired", 400)
ACCESS_DENIED = Fault(_CORAL + "AccessDeniedException", "AccessDenied", 403)
THROTTLING = Fault(_CORAL + "ThrottlingException", "ThrottlingException", 400)
UNKNOWN_OPERATION = Fault(_CORAL + "UnknownOperationException", "InvalidAction", 400)
INVALID_ACTION = Fault("InvalidAction", "InvalidAction", 400)
MISSING_ACTION = Fault("MissingAction", "MissingAction", 400)
SERIALIZATION = Fault(_CORAL + "SerializationException", "SerializationException", 400)
MALFORMED_QUERY_STRING = Fault("MalformedQueryString", "MalformedQueryString", 400)
REQUEST_ENTITY_TOO_LARGE = Fault(
    _CORAL + "RequestEntityTooLargeException", "RequestEntityTooLarge", 413
)
INVALID_PARAMETER_VALUE = Fault(
    _CORAL + "InvalidParameterValueException", "InvalidParameterValue", 400
)
MISSING_PARAMETER = Fault(_CORAL + "MissingParameterException", "MissingParameter", 400)
INTERNAL_ERROR = Fault(_CORAL + "InternalFailure", "InternalError", 500, sender=False)
SERVICE_UNAVAILABLE = Fault(
    _CORAL + "ServiceUnavailableException", "ServiceUnavailable", 503, sender=False
)
REQUEST_TIMEOUT = Fault(_CORAL + "RequestTimeoutException", "RequestTimeout", 408)
"""The body did not arrive in time; SDKs retry RequestTimeout as a transient error."""
