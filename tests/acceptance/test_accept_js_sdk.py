"""The AWS SDK for JavaScript v3 (``@aws-sdk/client-sqs``, pinned in ``js/package.json``) against a
real broker: ``js/sqs_smoke.mjs`` drives it and prints a JSON summary checked here.

The SDK verifies MD5OfMessageBody itself (and throws on a mismatch), unlike boto3.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from accept_support import md5_of_body

JS_DIR = Path(__file__).resolve().parent / "js"
NPM_TIMEOUT_SECONDS = 300
NODE_TIMEOUT_SECONDS = 90


@pytest.fixture(scope="module")
def node_modules() -> Path:
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        pytest.skip("node and npm are needed for the AWS SDK for JavaScript test (not on PATH)")
    installed = JS_DIR / "node_modules"
    if not (installed / "@aws-sdk" / "client-sqs").is_dir():
        done = subprocess.run(
            [npm, "ci", "--no-audit", "--no-fund"],
            cwd=JS_DIR,
            capture_output=True,
            text=True,
            timeout=NPM_TIMEOUT_SECONDS,
            check=False,
        )
        assert done.returncode == 0, f"npm ci failed:\n{done.stdout}\n{done.stderr}"
    return installed


def run_smoke(endpoint: str) -> dict[str, Any]:
    node = shutil.which("node")
    assert node is not None
    done = subprocess.run(
        [node, "sqs_smoke.mjs", endpoint],
        cwd=JS_DIR,
        capture_output=True,
        text=True,
        timeout=NODE_TIMEOUT_SECONDS,
        check=False,
    )
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    assert lines, f"no JSON summary (exit {done.returncode}):\n{done.stdout}\n{done.stderr}"
    summary: dict[str, Any] = json.loads(lines[-1])
    assert done.returncode == 0 and "fatal" not in summary, (
        f"the JS smoke test failed (exit {done.returncode}): {summary}\n{done.stderr}"
    )
    return summary


def test_js_sdk_v3_sends_receives_deletes_and_gets_typed_errors(
    node_modules: Path, broker_url: str
):
    summary = run_smoke(broker_url)
    body = "hello from the JS SDK ✓"

    sent = summary["sent"]
    assert sent["md5OfMessageBody"] == md5_of_body(body) == sent["expectedMd5OfMessageBody"]
    assert sent["md5OfMessageAttributes"] == sent["expectedMd5OfMessageAttributes"]
    assert summary["batch"] == {"successful": ["b1", "b2"], "failed": 0}
    assert summary["approximateNumberOfMessages"] == "3"

    received = summary["received"]
    assert received["count"] == 3
    assert received["bodies"] == sorted([body, "batch one", "batch two"])
    assert received["body"] == body
    assert received["md5OfBody"] == md5_of_body(body)
    assert received["md5OfMessageAttributes"] == sent["expectedMd5OfMessageAttributes"]
    assert received["stringAttribute"] == "blue ☂"
    assert received["numberAttribute"] == "42"
    assert received["binaryAttribute"] == [0, 1, 2, 255]
    assert received["receiveCount"] == "1"
    assert received["hasSentTimestamp"] is True
    assert summary["leftAfterDelete"] == 0

    error = summary["error"]
    assert error is not None, "GetQueueUrl of the deleted queue succeeded"
    assert error["name"] == "QueueDoesNotExist"
    assert error["isQueueDoesNotExist"] is True
    assert error["httpStatusCode"] == 400
    assert error["fault"] == "client"
    assert error["code"] == "AWS.SimpleQueueService.NonExistentQueue"
