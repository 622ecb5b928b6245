"""Envelopes: field order, the string to sign, and signatures that verify (RSA, v1 and v2)."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from broker.core.envelopes import Envelopes, string_to_sign, timestamp
from broker.core.models import MessageAttributeValue
from broker.signing import RsaSigner, new_signing_material

SIGNER = RsaSigner(new_signing_material())
MOMENT = datetime(2012, 5, 2, 0, 54, 6, 655_123, tzinfo=UTC)


def verify(document: dict[str, str]) -> None:
    key = x509.load_pem_x509_certificate(SIGNER.certificate_pem).public_key()
    assert isinstance(key, rsa.RSAPublicKey)
    algorithm: hashes.HashAlgorithm = (
        hashes.SHA256() if document["SignatureVersion"] == "2" else hashes.SHA1()
    )
    key.verify(
        base64.b64decode(document["Signature"]),
        string_to_sign(document).encode(),
        padding.PKCS1v15(),
        algorithm,
    )


def test_timestamp_has_milliseconds() -> None:
    assert timestamp(MOMENT) == "2012-05-02T00:54:06.655Z"


def test_string_to_sign_of_a_notification_skips_absent_subject() -> None:
    document = {
        "Type": "Notification",
        "MessageId": "m",
        "TopicArn": "t",
        "Message": "hello",
        "Timestamp": "ts",
        "UnsubscribeURL": "u",
    }
    assert string_to_sign(document) == (
        "Message\nhello\nMessageId\nm\nTimestamp\nts\nTopicArn\nt\nType\nNotification\n"
    )


@pytest.mark.parametrize("version", ["1", "2"])
def test_notification_is_signed(version: str) -> None:
    text = Envelopes(SIGNER).notification(
        message_id="id",
        topic_arn="arn:aws:sns:us-east-1:000000000000:t",
        subscription_arn="arn:aws:sns:us-east-1:000000000000:t:abc",
        subject="s",
        message="hello",
        moment=MOMENT,
        attributes={"n": MessageAttributeValue("Number", string_value="1")},
        signature_version=version,
        base_url="http://localhost:9324",
    )
    document = json.loads(text)
    assert document["SigningCertURL"] == "http://localhost:9324" + SIGNER.certificate_path
    assert document["UnsubscribeURL"].startswith("http://localhost:9324/?Action=Unsubscribe")
    assert document["MessageAttributes"] == {"n": {"Type": "Number", "Value": "1"}}
    verify(document)


def test_confirmation_is_signed_over_its_own_fields() -> None:
    text = Envelopes(SIGNER).confirmation(
        kind="SubscriptionConfirmation",
        message_id="id",
        topic_arn="arn:aws:sns:us-east-1:000000000000:t",
        subscription_arn="arn:aws:sns:us-east-1:000000000000:t:abc",
        token="tok",
        moment=MOMENT,
        signature_version="1",
        base_url="http://h",
    )
    document = json.loads(text)
    assert "Token=tok" in document["SubscribeURL"]
    verify(document)
