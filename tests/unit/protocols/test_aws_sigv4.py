"""SigV4 credential parsing: header and presigned forms, and the faults for bad input."""

from __future__ import annotations

import pytest

from broker.protocols.aws import faults
from broker.protocols.aws.faults import AwsFault
from broker.protocols.aws.sigv4 import parse_signed_request

SIGNATURE = "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"
BOTO_HEADER = (
    "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261126/eu-west-1/sqs/aws4_request, "
    "SignedHeaders=content-type;host;x-amz-date;x-amz-target;x-amzn-query-mode, "
    f"Signature={SIGNATURE}"
)


def test_header_yields_credential_scope_signed_headers_signature_and_date() -> None:
    signed = parse_signed_request(
        {"authorization": BOTO_HEADER, "x-amz-date": "20261126T114151Z"}, {}
    )
    assert signed.credential.access_key_id == "AKIDEXAMPLE"
    assert signed.credential.date == "20261126"
    assert signed.credential.region == "eu-west-1"
    assert signed.credential.service == "sqs"
    assert signed.credential.scope == "20261126/eu-west-1/sqs/aws4_request"
    assert signed.signed_headers == (
        "content-type",
        "host",
        "x-amz-date",
        "x-amz-target",
        "x-amzn-query-mode",
    )
    assert signed.signature == SIGNATURE
    assert signed.amz_date == "20261126T114151Z"
    assert not signed.presigned


def test_header_without_spaces_after_commas_is_accepted() -> None:
    header = BOTO_HEADER.replace(", ", ",")
    assert parse_signed_request({"authorization": header}, {}).credential.service == "sqs"


def test_header_keeps_the_session_token() -> None:
    signed = parse_signed_request({"authorization": BOTO_HEADER, "x-amz-security-token": "tok"}, {})
    assert signed.security_token == "tok"


def test_missing_authorization_is_missing_authentication_token_403() -> None:
    with pytest.raises(AwsFault) as raised:
        parse_signed_request({}, {})
    assert raised.value.fault is faults.MISSING_AUTHENTICATION_TOKEN
    assert raised.value.fault.status == 403


@pytest.mark.parametrize(
    "header",
    [
        "AWS4-HMAC-SHA256 SignedHeaders=host, Signature=abcd",
        "AWS4-HMAC-SHA256 Credential=AKID/20261126/us-east-1/sqs/aws4_request, Signature=abcd",
        "AWS4-HMAC-SHA256 Credential=AKID/20261126/us-east-1/sqs/aws4_request, SignedHeaders=host",
        "AWS4-HMAC-SHA256 Credential=AKID/20261126/us-east-1/sqs, SignedHeaders=host, Signature=ab",
        "AWS4-HMAC-SHA256 Credential=AKID/2026-11-26/us-east-1/sqs/aws4_request, "
        "SignedHeaders=host, Signature=ab",
        "AWS4-HMAC-SHA256 Credential=AKID/20261126/us-east-1/sqs/aws4_request, "
        "SignedHeaders=host, Signature=not-hex",
        "AWS AKID:signature",
        "Bearer token",
    ],
)
def test_malformed_header_is_incomplete_signature_400(header: str) -> None:
    with pytest.raises(AwsFault) as raised:
        parse_signed_request({"authorization": header}, {})
    assert raised.value.fault is faults.INCOMPLETE_SIGNATURE
    assert raised.value.fault.status == 400


def test_presigned_query_is_parsed() -> None:
    signed = parse_signed_request(
        {},
        {
            "X-Amz-Algorithm": "AWS4-HMAC-SHA256",
            "X-Amz-Credential": "AKIDEXAMPLE/20150830/us-east-1/sns/aws4_request",
            "X-Amz-Date": "20150830T123600Z",
            "X-Amz-Expires": "300",
            "X-Amz-SignedHeaders": "host",
            "X-Amz-Signature": SIGNATURE,
        },
    )
    assert signed.presigned
    assert signed.expires == 300
    assert signed.credential.service == "sns"
    assert signed.amz_date == "20150830T123600Z"


def test_presigned_query_missing_signature_is_incomplete_signature() -> None:
    with pytest.raises(AwsFault) as raised:
        parse_signed_request(
            {},
            {
                "X-Amz-Algorithm": "AWS4-HMAC-SHA256",
                "X-Amz-Credential": "AKIDEXAMPLE/20150830/us-east-1/sns/aws4_request",
                "X-Amz-Date": "20150830T123600Z",
                "X-Amz-SignedHeaders": "host",
            },
        )
    assert raised.value.fault is faults.INCOMPLETE_SIGNATURE
