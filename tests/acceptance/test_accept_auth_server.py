"""Server-wide security settings with real processes: HTTPS, per-account rate limits, the
development credentials on a loopback address and their refusal on any other."""

from __future__ import annotations

import datetime
import subprocess
import sys
from pathlib import Path
from typing import Any

import boto3
import httpx
import pytest
from accept_support import ACCESS_KEY, REGION, ROOT, SECRET_KEY, StartBroker, error_code
from botocore.config import Config
from botocore.exceptions import ClientError
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID


def client(service: str, url: str, key: str = ACCESS_KEY, secret: str = SECRET_KEY) -> Any:
    return boto3.client(
        service,
        endpoint_url=url,
        region_name=REGION,
        aws_access_key_id=key,
        aws_secret_access_key=secret,
        verify=False,
        config=Config(retries={"max_attempts": 1, "mode": "standard"}),
    )


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 and its key, as PEM files."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    directory = tmp_path_factory.mktemp("tls")
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


@pytest.mark.filterwarnings("ignore::urllib3.exceptions.InsecureRequestWarning")
def test_https_when_a_certificate_is_configured(
    start_broker: StartBroker, database_url: str, certificate: tuple[Path, Path]
) -> None:
    cert, key = certificate
    server = start_broker(
        database_url, {"BROKER_TLS_CERT_FILE": str(cert), "BROKER_TLS_KEY_FILE": str(key)}
    )
    assert server.url.startswith("https://")
    sqs = client("sqs", server.url)
    url = sqs.create_queue(QueueName="over-tls")["QueueUrl"]
    assert url.startswith("https://")
    sqs.send_message(QueueUrl=url, MessageBody="encrypted in transit")
    with pytest.raises(httpx.HTTPError):
        httpx.get(server.url.replace("https://", "http://") + "/healthz", timeout=5)


def test_an_account_over_its_rate_is_throttled_with_each_protocols_code(
    start_broker: StartBroker, database_url: str
) -> None:
    server = start_broker(
        database_url,
        {"BROKER_RATE_LIMIT_PER_SECOND": "0.01", "BROKER_RATE_LIMIT_BURST": "3"},
    )
    sqs, sns = client("sqs", server.url), client("sns", server.url)
    sqs.list_queues()
    sns.list_topics()
    sqs.list_queues()
    with pytest.raises(ClientError) as sqs_refused:
        sqs.list_queues()
    assert error_code(sqs_refused.value) == "RequestThrottled"
    with pytest.raises(ClientError) as sns_refused:
        sns.list_topics()
    assert error_code(sns_refused.value) == "Throttled"
    rest = httpx.get(
        server.url + "/v1/queues",
        headers={"Authorization": f"Bearer {ACCESS_KEY}:{SECRET_KEY}"},
        timeout=30,
    )
    assert rest.status_code == 429


def test_development_credentials_on_loopback(start_broker: StartBroker, database_url: str) -> None:
    server = start_broker(
        database_url, {"BROKER_ROOT_ACCESS_KEY_ID": "", "BROKER_ROOT_SECRET_ACCESS_KEY": ""}
    )
    sqs = client("sqs", server.url, "test", "test")
    url = sqs.create_queue(QueueName="dev-creds")["QueueUrl"]
    assert "/000000000000/" in url
    assert "development credentials" in server.log_tail(200)


def test_development_credentials_on_a_public_address_are_refused_at_start() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "broker", "serve", "--host", "0.0.0.0", "--no-migrate"],
        cwd=ROOT,
        env={"PATH": "/usr/bin:/bin", "BROKER_DEVELOPMENT_CREDENTIALS": "true"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode != 0
    assert "not a loopback address" in done.stderr
