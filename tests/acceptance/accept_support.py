"""Helpers of the acceptance tier: broker processes, clients and MD5 oracles."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import socket
import struct
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import boto3
import httpx
from botocore.config import Config

ROOT = Path(__file__).resolve().parents[2]

REGION = "us-east-1"
ACCESS_KEY = "AKIDEXAMPLE"
SECRET_KEY = "secret"

READY_TIMEOUT_SECONDS = 30.0
STOP_TIMEOUT_SECONDS = 40.0  # the server lets running long polls (<= 20 s) finish first
LOG_TAIL_LINES = 80

# uvicorn (>= 0.29) finishes its graceful shutdown and then re-raises the signal it caught; the
# broker turns that SIGTERM into a normal exit (0). -15 is still clean for uvicorn's own
# multi-worker supervisor.
CLEAN_EXIT_CODES = (0, -signal.SIGTERM)
SHUTDOWN_COMPLETE = "Application shutdown complete."

# The environment every acceptance server starts with; modules add to it through ``broker_env``.
BASE_ENV: dict[str, str] = {
    # info: uvicorn then logs its shutdown steps, which the clean-exit check looks for.
    "BROKER_LOG_LEVEL": "info",
    "BROKER_POOL_MIN_SIZE": "1",
    "BROKER_POOL_MAX_SIZE": "12",
    "BROKER_DELETE_RECREATE_COOLDOWN_SECONDS": "0",
    # Every client of the acceptance tier signs with the root account's key.
    "BROKER_ROOT_ACCESS_KEY_ID": ACCESS_KEY,
    "BROKER_ROOT_SECRET_ACCESS_KEY": SECRET_KEY,
}


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class BrokerProcess:
    """One ``python -m broker serve`` subprocess."""

    def __init__(self, database_url: str, env: Mapping[str, str], log_dir: Path) -> None:
        self.port = free_port()
        self.tls = bool(env.get("BROKER_TLS_CERT_FILE"))
        self.url = f"{'https' if self.tls else 'http'}://127.0.0.1:{self.port}"
        self.log_path = log_dir / f"broker-{self.port}-{uuid.uuid4().hex[:6]}.log"
        self._log = self.log_path.open("wb")
        full_env = {**os.environ, **BASE_ENV, **env}
        full_env.pop("BROKER_DATABASE_URL", None)
        command = [
            sys.executable,
            "-m",
            "broker",
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--database-url",
            database_url,
            "--no-migrate",
        ]
        self.process = subprocess.Popen(
            command,
            cwd=ROOT,
            env=full_env,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )

    def status(self) -> str:
        code = self.process.poll()
        return "running" if code is None else f"exited with code {code}"

    def log_tail(self, lines: int = LOG_TAIL_LINES) -> str:
        if not self._log.closed:
            self._log.flush()
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError as exc:
            return f"<cannot read {self.log_path}: {exc}>"
        return "\n".join(text.splitlines()[-lines:])

    def wait_ready(self, timeout: float = READY_TIMEOUT_SECONDS) -> None:
        deadline = time.monotonic() + timeout
        last = "no answer"
        # A TLS broker serves a self-signed test certificate.
        with httpx.Client(timeout=2.0, verify=not self.tls) as client:
            while time.monotonic() < deadline:
                code = self.process.poll()
                if code is not None:
                    raise RuntimeError(
                        f"broker exited with code {code} before it was ready:\n{self.log_tail()}"
                    )
                try:
                    response = client.get(self.url + "/readyz")
                    # Only this process logs that it bound the port: another process that took
                    # the port in the meantime could answer /readyz too.
                    if response.status_code == 200 and self._bound():
                        return
                    last = f"{response.status_code} {response.text}"
                except httpx.HTTPError as exc:
                    last = repr(exc)
                time.sleep(0.05)  # readiness polling interval, not synchronisation
        self.kill()
        raise RuntimeError(f"broker not ready after {timeout} s ({last}):\n{self.log_tail()}")

    def _bound(self) -> bool:
        if not self._log.closed:
            self._log.flush()
        return f"Uvicorn running on {self.url}" in self.log_path.read_text(errors="replace")

    def stop(self, timeout: float = STOP_TIMEOUT_SECONDS) -> int:
        """SIGTERM, then wait for the exit; returns the exit code (kills it on a timeout)."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            code = self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise AssertionError(
                f"broker on port {self.port} did not exit {timeout} s after SIGTERM:\n"
                f"{self.log_tail()}"
            ) from None
        finally:
            self._log.close()
        return code

    def stop_problems(self) -> list[str]:
        """Stop the server; what was not clean about its exit (empty when all went well)."""
        early = self.process.poll()
        try:
            code = self.stop()
        except AssertionError as exc:
            return [str(exc)]
        log = self.log_path.read_text(errors="replace")
        problems = []
        if early is not None:
            problems.append(
                f"it had already exited (code {early}) before the end of its tests; a graceful "
                "shutdown in its log means something else sent it SIGTERM/SIGINT"
            )
        if code not in CLEAN_EXIT_CODES:
            problems.append(f"exit code {code}")
        if SHUTDOWN_COMPLETE not in log:
            problems.append(f"no {SHUTDOWN_COMPLETE!r} in its log")
        if "Traceback" in log:
            problems.append("a traceback in its log")
        if not problems:
            return []
        return [f"broker {self.url} did not stop cleanly ({'; '.join(problems)}):\n{log[-20000:]}"]

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)


def make_sqs_client(endpoint_url: str, **config: Any) -> Any:
    return boto3.client(
        "sqs",
        endpoint_url=endpoint_url,
        region_name=REGION,
        aws_access_key_id=ACCESS_KEY,
        aws_secret_access_key=SECRET_KEY,
        # No retries: a 5xx must fail the test, not be retried away.
        config=Config(retries={"max_attempts": 1, "mode": "standard"}, **config),
    )


# --- the MD5 digests SQS returns, computed independently of the broker (reference 3.7) --------


def md5_hex(data: bytes) -> str:
    return hashlib.md5(data, usedforsecurity=False).hexdigest()


def md5_of_body(body: str) -> str:
    return md5_hex(body.encode("utf-8"))


def md5_of_message_attributes(attributes: Mapping[str, Mapping[str, Any]]) -> str:
    """MD5OfMessageAttributes of a boto3-shaped attribute map (BinaryValue as raw bytes)."""
    buffer = bytearray()

    def prefixed(data: bytes) -> None:
        buffer.extend(struct.pack(">I", len(data)))
        buffer.extend(data)

    for name in sorted(attributes, key=lambda n: n.encode("utf-8")):
        value = attributes[name]
        data_type = value["DataType"]
        prefixed(name.encode("utf-8"))
        prefixed(data_type.encode("utf-8"))
        if data_type.split(".", 1)[0] == "Binary":
            buffer.append(2)
            binary = value["BinaryValue"]
            prefixed(binary if isinstance(binary, bytes) else binary.encode("utf-8"))
        else:
            buffer.append(1)
            prefixed(value["StringValue"].encode("utf-8"))
    return md5_hex(bytes(buffer))


def wait_until(
    condition: Callable[[], Any], timeout: float, interval: float = 0.1, what: str = ""
) -> Any:
    """Poll ``condition`` until it returns something truthy; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what or condition}")
        time.sleep(interval)


def error_code(exc: Exception) -> str:
    """``Error.Code`` of a botocore ``ClientError`` (the legacy Query code for SQS)."""
    return str(exc.response["Error"]["Code"])  # type: ignore[attr-defined]


def http_status(exc: Exception) -> int:
    return int(exc.response["ResponseMetadata"]["HTTPStatusCode"])  # type: ignore[attr-defined]


def account_of(queue_url: str) -> str:
    """The account id in a queue URL (``.../<account>/<name>``)."""
    return queue_url.rstrip("/").split("/")[-2]


def signed_headers(
    url: str, body: bytes, headers: Mapping[str, str], service: str = "sqs"
) -> dict[str, str]:
    """``headers`` plus a SigV4 ``Authorization`` (and ``X-Amz-Date``), signed the way botocore
    signs: the broker parses the signature, so it must be well formed."""
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    request = AWSRequest(method="POST", url=url, data=body, headers=dict(headers))
    SigV4Auth(Credentials(ACCESS_KEY, SECRET_KEY), service, REGION).add_auth(request)
    return dict(request.headers.items())


def query_post(url: str, params: Mapping[str, str] | list[tuple[str, str]]) -> httpx.Response:
    """A signed AWS Query (form-encoded) POST, as pre-2024 SDKs send SQS requests."""
    from urllib.parse import urlencode

    body = urlencode(params).encode("utf-8")
    headers = signed_headers(
        url, body, {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}
    )
    return httpx.post(url, content=body, headers=headers, timeout=30)


def json_post(url: str, target: str, body: bytes) -> httpx.Response:
    """A signed AWS JSON 1.0 POST with ``X-Amz-Target: <target>`` and a raw body."""
    headers = signed_headers(
        url,
        body,
        {
            "Content-Type": "application/x-amz-json-1.0",
            "X-Amz-Target": target,
            "x-amzn-query-mode": "true",
        },
    )
    return httpx.post(url, content=body, headers=headers, timeout=30)


StartBroker = Callable[..., BrokerProcess]
"""``start_broker(database_url, env=None)``: a ready broker process, stopped after the module."""


# -- the AWS CLI -------------------------------------------------------------------------------

CLI_TIMEOUT_SECONDS = 60


def aws_cli_env(home: Path) -> dict[str, str]:
    """Credentials from the environment only: no user config, profile or endpoint leaks in."""
    env = {
        k: v for k, v in os.environ.items() if not k.startswith("AWS_") and not k.startswith("BOTO")
    }
    env.update(
        {
            "AWS_ACCESS_KEY_ID": ACCESS_KEY,
            "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
            "AWS_DEFAULT_REGION": REGION,
            "AWS_CONFIG_FILE": str(home / "config"),
            "AWS_SHARED_CREDENTIALS_FILE": str(home / "credentials"),
            "AWS_EC2_METADATA_DISABLED": "true",
            "AWS_PAGER": "",
        }
    )
    return env


class AwsCli:
    """The AWS CLI (v1, the venv's copy: ``python -m awscli``) for one service."""

    def __init__(self, endpoint: str, env: dict[str, str], service: str) -> None:
        self.endpoint = endpoint
        self.env = env
        self.service = service

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        command = [
            sys.executable,
            "-m",
            "awscli",
            self.service,
            *args,
            "--endpoint-url",
            self.endpoint,
            "--output",
            "json",
        ]
        return subprocess.run(
            command,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=CLI_TIMEOUT_SECONDS,
            check=False,
        )

    def ok(self, *args: str) -> Any:
        """Run; it must succeed. Its JSON output, or None when it prints nothing."""
        done = self.run(*args)
        assert done.returncode == 0, f"aws {self.service} {' '.join(args)} failed:\n{done.stderr}"
        return json.loads(done.stdout) if done.stdout.strip() else None
