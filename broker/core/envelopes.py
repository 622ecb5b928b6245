"""The JSON documents SNS delivers: notifications and (un)subscription confirmations, signed.

The string to sign is ``Name\\nValue\\n`` for a fixed list of fields in byte order (AWS's
"Verifying the signatures of Amazon SNS messages"); the signature itself comes from a
``Signer`` port, since RSA needs a library the core does not import.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any
from urllib.parse import quote

from broker.core.models import MessageAttributes
from broker.core.ports import Signer

NOTIFICATION_FIELDS = ("Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type")
CONFIRMATION_FIELDS = (
    "Message",
    "MessageId",
    "SubscribeURL",
    "Timestamp",
    "Token",
    "TopicArn",
    "Type",
)


def timestamp(moment: datetime) -> str:
    """ISO-8601 UTC with milliseconds, as SNS writes it: ``2012-05-02T00:54:06.655Z``."""
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def string_to_sign(document: Mapping[str, Any]) -> str:
    fields = NOTIFICATION_FIELDS if document["Type"] == "Notification" else CONFIRMATION_FIELDS
    return "".join(f"{name}\n{document[name]}\n" for name in fields if name in document)


def envelope_attributes(attributes: MessageAttributes) -> dict[str, dict[str, str]]:
    """SNS attributes as an envelope shows them: ``{"Type", "Value"}``, binary in base64."""
    out: dict[str, dict[str, str]] = {}
    for name, value in attributes.items():
        if value.binary_value is not None:
            text = base64.b64encode(value.binary_value).decode("ascii")
        else:
            text = value.string_value or ""
        out[name] = {"Type": value.data_type, "Value": text}
    return out


class Envelopes:
    """Builds signed envelopes whose URLs point at this broker's public address."""

    def __init__(self, signer: Signer) -> None:
        self._signer = signer

    def _signed(self, document: dict[str, Any], version: str, base_url: str) -> dict[str, Any]:
        document["SignatureVersion"] = version
        document["Signature"] = self._signer.sign(string_to_sign(document).encode(), version)
        document["SigningCertURL"] = base_url + self._signer.certificate_path
        return document

    def notification(
        self,
        *,
        message_id: str,
        topic_arn: str,
        subscription_arn: str,
        subject: str | None,
        message: str,
        moment: datetime,
        attributes: MessageAttributes,
        signature_version: str,
        base_url: str,
        sequence_number: str | None = None,
    ) -> str:
        document: dict[str, Any] = {"Type": "Notification", "MessageId": message_id}
        if sequence_number is not None:
            document["SequenceNumber"] = sequence_number
        document["TopicArn"] = topic_arn
        if subject is not None:
            document["Subject"] = subject
        document["Message"] = message
        document["Timestamp"] = timestamp(moment)
        self._signed(document, signature_version, base_url)
        document["UnsubscribeURL"] = (
            f"{base_url}/?Action=Unsubscribe&SubscriptionArn={quote(subscription_arn, safe=':')}"
        )
        if attributes:
            document["MessageAttributes"] = envelope_attributes(attributes)
        return json.dumps(document, ensure_ascii=False, separators=(",", ":"))

    def confirmation(
        self,
        *,
        kind: str,
        message_id: str,
        topic_arn: str,
        subscription_arn: str,
        token: str,
        moment: datetime,
        signature_version: str,
        base_url: str,
    ) -> str:
        """A ``SubscriptionConfirmation`` or ``UnsubscribeConfirmation`` document."""
        if kind == "SubscriptionConfirmation":
            message = (
                f"You have chosen to subscribe to the topic {topic_arn}.\nTo confirm the "
                "subscription, visit the SubscribeURL included in this message."
            )
        else:
            message = (
                f"You have chosen to deactivate subscription {subscription_arn}.\nTo cancel "
                "this operation and restore the subscription, visit the SubscribeURL included "
                "in this message."
            )
        document: dict[str, Any] = {
            "Type": kind,
            "MessageId": message_id,
            "Token": token,
            "TopicArn": topic_arn,
            "Message": message,
            "SubscribeURL": (
                f"{base_url}/?Action=ConfirmSubscription&TopicArn={quote(topic_arn, safe=':')}"
                f"&Token={token}"
            ),
            "Timestamp": timestamp(moment),
        }
        return json.dumps(
            self._signed(document, signature_version, base_url),
            ensure_ascii=False,
            separators=(",", ":"),
        )
