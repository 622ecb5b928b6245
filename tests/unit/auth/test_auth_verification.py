"""SigV4 verification against the AWS test suite vector and botocore-signed requests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qsl, urlsplit

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from key_table import KeyTable
from request_signing import presigned_url, sign_headers

from broker.core.rate_limits import RateLimiter
from broker.protocols.aws import faults
from broker.protocols.aws.context import Authenticator, ThrottledFault
from broker.protocols.aws.faults import AwsFault
from broker.protocols.aws.sigv4 import parse_signed_request
from broker.protocols.aws.verification import HttpRequest, canonical_path, verify

# aws-sig-v4-test-suite "get-vanilla".
VANILLA_SECRET = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
VANILLA_AUTHORIZATION = (
    "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
    "SignedHeaders=host;x-amz-date, "
    "Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"
)
VANILLA_TIME = datetime(2015, 8, 30, 12, 36, tzinfo=UTC)


def vanilla(authorization: str = VANILLA_AUTHORIZATION) -> HttpRequest:
    headers = [
        ("host", "example.amazonaws.com"),
        ("x-amz-date", "20150830T123600Z"),
        ("authorization", authorization),
    ]
    return HttpRequest("GET", "/", "", headers, b"")


def check(
    request: HttpRequest, secret: str, now: datetime, query: dict[str, str] | None = None
) -> None:
    signed = parse_signed_request(dict(request.headers), query or {})
    verify(request, signed, secret, now)


def test_the_aws_test_vector_verifies() -> None:
    check(vanilla(), VANILLA_SECRET, VANILLA_TIME)


def test_a_wrong_secret_does_not_match() -> None:
    with pytest.raises(AwsFault) as refused:
        check(vanilla(), "not-the-secret", VANILLA_TIME)
    assert refused.value.fault is faults.SIGNATURE_DOES_NOT_MATCH


def test_a_changed_request_does_not_match() -> None:
    request = vanilla()
    changed = HttpRequest("POST", request.path, request.query, request.headers, b"")
    with pytest.raises(AwsFault) as refused:
        check(changed, VANILLA_SECRET, VANILLA_TIME)
    assert refused.value.fault is faults.SIGNATURE_DOES_NOT_MATCH


@pytest.mark.parametrize("skew", [timedelta(minutes=16), -timedelta(minutes=16)])
def test_a_request_older_or_newer_than_15_minutes_is_refused(skew: timedelta) -> None:
    with pytest.raises(AwsFault) as refused:
        check(vanilla(), VANILLA_SECRET, VANILLA_TIME + skew)
    assert refused.value.fault is faults.SIGNATURE_DOES_NOT_MATCH
    assert (
        "Signature expired" in refused.value.message or "not yet current" in refused.value.message
    )


def test_within_15_minutes_is_accepted() -> None:
    check(vanilla(), VANILLA_SECRET, VANILLA_TIME + timedelta(minutes=14))


def test_host_must_be_signed() -> None:
    authorization = VANILLA_AUTHORIZATION.replace("host;x-amz-date", "x-amz-date")
    with pytest.raises(AwsFault) as refused:
        check(vanilla(authorization), VANILLA_SECRET, VANILLA_TIME)
    assert refused.value.fault is faults.SIGNATURE_DOES_NOT_MATCH


def _botocore_post(body: bytes, headers: dict[str, str]) -> HttpRequest:
    url = "http://localhost:4566/000000000000/my%20queue"
    signed = sign_headers("POST", url, headers, body, "AKID", "s3cr3t", "eu-west-1", "sqs")
    pairs = [(k.lower(), v) for k, v in signed.items()] + [("host", "localhost:4566")]
    return HttpRequest("POST", urlsplit(url).path, "", pairs, body)


def test_a_botocore_signed_post_verifies_and_its_body_is_covered() -> None:
    body = b'{"QueueUrl": "x", "MessageBody": "hello"}'
    request = _botocore_post(body, {"Content-Type": "application/x-amz-json-1.0"})
    check(request, "s3cr3t", datetime.now(UTC))
    tampered = HttpRequest(request.method, request.path, request.query, request.headers, b"{}")
    with pytest.raises(AwsFault):
        check(tampered, "s3cr3t", datetime.now(UTC))


def test_unsigned_payload_is_accepted_when_declared() -> None:
    headers = {"Content-Type": "text/plain", "X-Amz-Content-SHA256": "UNSIGNED-PAYLOAD"}
    request = _botocore_post(b"anything", headers)
    check(request, "s3cr3t", datetime.now(UTC))


def _presigned(expires: int, when: datetime) -> tuple[HttpRequest, dict[str, str]]:
    url = presigned_url(
        "http://localhost:4566/?Action=ListQueues&Version=2012-11-05",
        "AKID",
        "s3cr3t",
        when,
        expires=expires,
        service="sqs",
    )
    parts = urlsplit(url)
    params = dict(parse_qsl(parts.query))
    http = HttpRequest("GET", parts.path or "/", parts.query, [("host", "localhost:4566")], b"")
    return http, params


def test_a_presigned_url_verifies_until_it_expires() -> None:
    now = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    request, params = _presigned(300, now)
    check(request, "s3cr3t", now + timedelta(seconds=200), params)
    with pytest.raises(AwsFault) as refused:
        check(request, "s3cr3t", now + timedelta(seconds=301), params)
    assert refused.value.fault is faults.REQUEST_EXPIRED


def test_canonical_path_removes_dot_segments_and_encodes_again() -> None:
    assert canonical_path("/a/./b/../c//d") == "/a/c/d"
    assert canonical_path("/000000000000/my%20queue") == "/000000000000/my%2520queue"
    assert canonical_path("") == "/"


async def test_unknown_keys_and_throttled_accounts() -> None:
    limiter = RateLimiter(per_second=0.001, burst=1)
    authenticator = Authenticator(
        KeyTable({"AKIDEXAMPLE": VANILLA_SECRET}),
        rate_limiter=limiter,
        clock=lambda: VANILLA_TIME.timestamp(),
    )
    with pytest.raises(AwsFault) as unknown:
        await authenticator.authenticate(
            vanilla(VANILLA_AUTHORIZATION.replace("AKIDEXAMPLE", "AKIDOTHER")),
            {},
            services={"service"},
        )
    assert unknown.value.fault is faults.INVALID_CLIENT_TOKEN_ID
    _, caller = await authenticator.authenticate(vanilla(), {}, services={"service"})
    assert caller.access_key_id == "AKIDEXAMPLE"
    with pytest.raises(ThrottledFault):
        await authenticator.authenticate(vanilla(), {}, services={"service"})


async def test_scope_must_name_an_allowed_service_and_region() -> None:
    authenticator = Authenticator(
        KeyTable({"AKIDEXAMPLE": VANILLA_SECRET}),
        regions={"eu-west-1"},
        clock=lambda: VANILLA_TIME.timestamp(),
    )
    for services in ({"sqs"}, {"service"}):
        with pytest.raises(AwsFault) as refused:
            await authenticator.authenticate(vanilla(), {}, services=services)
        assert refused.value.fault is faults.SIGNATURE_DOES_NOT_MATCH


def test_rate_limiter_refills() -> None:
    now = [0.0]
    limiter = RateLimiter(per_second=2, burst=2, clock=lambda: now[0])
    assert [limiter.allow("a") for _ in range(3)] == [True, True, False]
    assert limiter.allow("b")
    now[0] = 0.5
    assert limiter.allow("a") and not limiter.allow("a")


_HEADER_TEXT = st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=300)


@settings(max_examples=300, deadline=None)
@given(
    authorization=st.one_of(
        _HEADER_TEXT,
        st.builds(
            lambda cred, signed, sig: (
                f"AWS4-HMAC-SHA256 Credential={cred}, SignedHeaders={signed}, Signature={sig}"
            ),
            _HEADER_TEXT,
            _HEADER_TEXT,
            _HEADER_TEXT,
        ),
    ),
    date=_HEADER_TEXT,
)
async def test_fuzzed_authorization_headers_fail_only_with_aws_faults(
    authorization: str, date: str
) -> None:
    authenticator = Authenticator(KeyTable({"AKIDEXAMPLE": VANILLA_SECRET}))
    request = HttpRequest(
        "POST",
        "/",
        "",
        [("host", "h"), ("authorization", authorization), ("x-amz-date", date)],
        b"",
    )
    with pytest.raises(AwsFault):
        await authenticator.authenticate(request, {})
