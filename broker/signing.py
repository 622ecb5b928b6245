"""The RSA key and certificate SNS envelopes are signed with (the core's ``Signer`` port).

The key is generated once and kept in ``broker.secrets``, so every broker process signs with it;
its self-signed certificate is served at ``SigningCertURL`` for subscribers to verify with.
SignatureVersion 1 signs with SHA1withRSA, 2 with SHA256withRSA, as SNS does.
"""

from __future__ import annotations

import base64
import datetime
import hashlib

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID

from broker.errors import Unavailable

SECRET_NAME = "sns-signing"
_SEPARATOR = b"\n--certificate--\n"


def new_signing_material(common_name: str = "sns.broker.local") -> bytes:
    """A fresh key and a ten-year self-signed certificate, as one blob for ``broker.secrets``."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=3650))
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return key_pem + _SEPARATOR + certificate.public_bytes(serialization.Encoding.PEM)


class RsaSigner:
    def __init__(self, material: bytes) -> None:
        key_pem, _, certificate_pem = material.partition(_SEPARATOR)
        key = serialization.load_pem_private_key(key_pem, password=None)
        if not isinstance(key, rsa.RSAPrivateKey):
            raise ValueError("the SNS signing key must be an RSA key")
        self._key = key
        self.certificate_pem = certificate_pem
        digest = hashlib.sha256(certificate_pem).hexdigest()[:32]
        self._path = f"/SimpleNotificationService-{digest}.pem"

    @property
    def certificate_path(self) -> str:
        return self._path

    def sign(self, data: bytes, version: str) -> str:
        algorithm: hashes.HashAlgorithm = hashes.SHA256() if version == "2" else hashes.SHA1()
        signature = self._key.sign(data, padding.PKCS1v15(), algorithm)
        return base64.b64encode(signature).decode("ascii")


class KeyRing:
    """The process's signer, loaded from the database at start-up (before that: Unavailable)."""

    def __init__(self) -> None:
        self._signer: RsaSigner | None = None

    def load(self, material: bytes) -> None:
        self._signer = RsaSigner(material)

    @property
    def _current(self) -> RsaSigner:
        if self._signer is None:
            raise Unavailable("The broker is starting; retry the request.")
        return self._signer

    @property
    def certificate_path(self) -> str:
        return self._current.certificate_path

    @property
    def certificate_pem(self) -> bytes:
        return self._current.certificate_pem

    def sign(self, data: bytes, version: str) -> str:
        return self._current.sign(data, version)
