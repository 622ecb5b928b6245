"""boto3 EventBridge clients and small helpers shared by the events acceptance modules."""

from __future__ import annotations

import json
from typing import Any

import boto3
from accept_support import ACCESS_KEY, REGION, SECRET_KEY
from botocore.config import Config


def make_events_client(endpoint_url: str) -> Any:
    return boto3.client(
        "events",
        endpoint_url=endpoint_url,
        region_name=REGION,
        aws_access_key_id=ACCESS_KEY,
        aws_secret_access_key=SECRET_KEY,
        config=Config(retries={"max_attempts": 1, "mode": "standard"}),
    )


def entry(detail: dict[str, Any], **fields: Any) -> dict[str, Any]:
    """A PutEvents entry from the shop's order service."""
    return {
        "Source": fields.pop("Source", "shop.orders"),
        "DetailType": fields.pop("DetailType", "OrderPlaced"),
        "Detail": json.dumps(detail),
        **fields,
    }
