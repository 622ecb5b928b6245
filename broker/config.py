"""Settings: read once at start-up from ``BROKER_*`` environment variables and CLI flags.

Every value is validated here, so a bad configuration fails before the broker binds a port.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

DEFAULT_PORT = 9324
"""The port of ``broker serve``: the SQS convention of ElasticMQ, so existing local setups work."""


class ConfigError(ValueError):
    """A setting is missing or malformed; the message names the variable."""


def default_data_dir() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "pgbroker"


@dataclass(frozen=True)
class Settings:
    host: str = "127.0.0.1"
    port: int = DEFAULT_PORT
    database_url: str | None = None
    """An external PostgreSQL; when unset the broker runs its embedded server under ``data_dir``."""
    data_dir: Path = field(default_factory=default_data_dir)
    public_url: str | None = None
    """Base of the queue URLs the broker hands out; defaults to the request's own host."""
    region: str = "us-east-1"
    migrate: bool = True
    workers: int = 1
    """Broker processes behind the one port; each has its own pool and listener."""
    pool_min_size: int = 2
    pool_max_size: int = 10
    max_request_bytes: int = 4 * 1_048_576
    """Bodies are escaped on the wire (JSON \\u escapes, form %XX): up to 3x the message bytes."""
    max_message_bytes: int = 1_048_576
    """The ceiling of any queue's MaximumMessageSize (AWS: 1 MiB)."""
    body_timeout_seconds: float = 30.0
    """A request body must arrive within this time (slow or stalled clients get a 408)."""
    max_long_polls: int = 1000
    """Receives parked waiting for messages in one process; past it a receive that finds nothing
    is refused as throttled (RequestThrottled) instead of waiting."""
    max_connections: int = 2048
    """Open connections and running requests per process (uvicorn ``limit_concurrency``);
    past it the server answers 503 at once."""
    keep_alive_seconds: float = 75.0
    """How long an idle keep-alive connection stays open (above load balancers' 60 s)."""
    queue_cache_seconds: float = 1.0
    """How long a process trusts its cached copy of a queue's attributes (AWS: up to 60 s)."""
    poll_interval_seconds: float = 1.0
    """The fallback re-check of a waiting receive when no wake-up arrives."""
    notify_window_seconds: float = 0.005
    """NOTIFY for other processes is sent at most once per queue per window."""
    peer_announce_seconds: float = 5.0
    """How often each process tells the others it listens; one silent for three periods is
    forgotten, and a process that hears no other sends no NOTIFY."""
    janitor_interval_seconds: float = 5.0
    janitor_batch_size: int = 1000
    delete_recreate_cooldown_seconds: int = 60
    """AWS refuses to re-create a queue name within 60 s of its deletion (QueueDeletedRecently)."""
    purge_cooldown_seconds: int = 60
    log_level: str = "info"
    log_format: str = "text"
    """``text`` or ``json`` (one object per line, with request id, account and action)."""
    access_log: bool = True
    """One log line per wire-protocol request (logger ``broker.access``, level info)."""
    metrics_interval_seconds: float = 15.0
    """How often queue depth and age are recomputed for /metrics: the staleness of those gauges."""
    delivery_poll_seconds: float = 1.0
    """How often the deliverer looks for due HTTP/S deliveries written by other processes."""
    delivery_timeout_seconds: float = 15.0
    """The timeout of one HTTP/S delivery POST; a claimed delivery's lease is 2x this + 1 s."""
    events_max_entry_bytes: int = 262_144
    """The total entry size of one PutEvents request (AWS: 256 KB; some buses now take 1 MB)."""
    scheduler_interval_seconds: float = 1.0
    """How often each process looks for due scheduled rules and replay work."""
    event_retry_seconds: float = 1.0
    """The first backoff of a failed API-destination delivery; it doubles per attempt."""
    root_access_key_id: str | None = None
    root_secret_access_key: str | None = None
    """The root account's key, created (or re-keyed) at start-up; see docs/security.md."""
    development_credentials: bool | None = None
    """Accept the fixed key ``test``/``test`` as root. Unset: only on a loopback address and
    without configured root credentials."""
    allow_development_credentials: bool = False
    """Let ``development_credentials=true`` serve on a non-loopback address (refused otherwise)."""
    secret_encryption_key: str | None = None
    """Comma-separated Fernet keys encrypting access-key secrets: the first encrypts, all decrypt.
    Unset: a key generated once and kept in the database (weaker; see docs/security.md)."""
    key_cache_seconds: float = 5.0
    """How long a process trusts its copy of an access key: a disabled key stops working on every
    process within this time."""
    allowed_regions: str = ""
    """Comma-separated regions a request signature may be scoped to; empty: any."""
    rate_limit_per_second: float = 0.0
    """Requests per second per account and process; 0: no limit."""
    rate_limit_burst: int = 0
    """Requests an idle account may send at once; 0: twice the rate (at least 1)."""
    tls_cert_file: Path | None = None
    tls_key_file: Path | None = None
    """Serve HTTPS with this PEM certificate (chain) and key; both or neither."""

    def __post_init__(self) -> None:
        if not 0 < self.port < 65536:
            raise ConfigError(f"BROKER_PORT must be between 1 and 65535, got {self.port}")
        if not 1 <= self.workers <= 64:
            raise ConfigError(f"BROKER_WORKERS must be between 1 and 64, got {self.workers}")
        if self.pool_min_size < 1 or self.pool_max_size < self.pool_min_size:
            raise ConfigError("BROKER_POOL_MIN_SIZE must be >= 1 and <= BROKER_POOL_MAX_SIZE")
        if not 1024 <= self.max_message_bytes <= 16 * 1_048_576:
            raise ConfigError("BROKER_MAX_MESSAGE_BYTES must be between 1024 and 16 MiB")
        if self.max_request_bytes < self.max_message_bytes:
            raise ConfigError("BROKER_MAX_REQUEST_BYTES must be >= BROKER_MAX_MESSAGE_BYTES")
        if self.max_long_polls < 1 or self.max_connections < 1:
            raise ConfigError("BROKER_MAX_LONG_POLLS and BROKER_MAX_CONNECTIONS must be >= 1")
        for name in (
            "body_timeout_seconds",
            "keep_alive_seconds",
            "queue_cache_seconds",
            "poll_interval_seconds",
            "peer_announce_seconds",
            "janitor_interval_seconds",
            "delivery_poll_seconds",
            "delivery_timeout_seconds",
            "scheduler_interval_seconds",
            "event_retry_seconds",
        ):
            if getattr(self, name) <= 0:
                raise ConfigError(f"BROKER_{name.upper()} must be positive")
        if not 1024 <= self.events_max_entry_bytes <= 16 * 1_048_576:
            raise ConfigError("BROKER_EVENTS_MAX_ENTRY_BYTES must be between 1024 and 16 MiB")
        if self.notify_window_seconds < 0:
            raise ConfigError("BROKER_NOTIFY_WINDOW_SECONDS must not be negative")
        if self.log_level.lower() not in {"debug", "info", "warning", "error", "critical"}:
            raise ConfigError(f"BROKER_LOG_LEVEL must be a logging level, got {self.log_level!r}")
        if self.log_format not in {"text", "json"}:
            raise ConfigError(f"BROKER_LOG_FORMAT must be text or json, got {self.log_format!r}")
        if self.metrics_interval_seconds < 1:
            raise ConfigError("BROKER_METRICS_INTERVAL_SECONDS must be at least 1")
        if self.public_url is not None and not self.public_url.startswith(("http://", "https://")):
            raise ConfigError("BROKER_PUBLIC_URL must start with http:// or https://")
        if (self.root_access_key_id is None) != (self.root_secret_access_key is None):
            raise ConfigError(
                "BROKER_ROOT_ACCESS_KEY_ID and BROKER_ROOT_SECRET_ACCESS_KEY go together"
            )
        if self.root_secret_access_key is not None and len(self.root_secret_access_key) < 4:
            raise ConfigError("BROKER_ROOT_SECRET_ACCESS_KEY is too short")
        if (
            self.development_credentials
            and not loopback(self.host)
            and not self.allow_development_credentials
        ):
            raise ConfigError(
                f"refusing to accept the development credentials on {self.host}, which is not "
                "a loopback address: set BROKER_ROOT_ACCESS_KEY_ID and "
                "BROKER_ROOT_SECRET_ACCESS_KEY instead, or BROKER_ALLOW_DEVELOPMENT_CREDENTIALS="
                "true if this network is trusted"
            )
        if self.key_cache_seconds < 0:
            raise ConfigError("BROKER_KEY_CACHE_SECONDS must not be negative")
        if self.rate_limit_per_second < 0 or self.rate_limit_burst < 0:
            raise ConfigError("BROKER_RATE_LIMIT_PER_SECOND and _BURST must not be negative")
        if (self.tls_cert_file is None) != (self.tls_key_file is None):
            raise ConfigError("BROKER_TLS_CERT_FILE and BROKER_TLS_KEY_FILE go together")
        for path in (self.tls_cert_file, self.tls_key_file):
            if path is not None and not path.is_file():
                raise ConfigError(f"TLS file {path} does not exist")

    @property
    def development_credentials_enabled(self) -> bool:
        if self.development_credentials is not None:
            return self.development_credentials
        return loopback(self.host) and self.root_access_key_id is None

    @property
    def regions(self) -> tuple[str, ...]:
        return tuple(r.strip() for r in self.allowed_regions.split(",") if r.strip())

    @property
    def effective_rate_limit_burst(self) -> int:
        return self.rate_limit_burst or max(1, int(2 * self.rate_limit_per_second))

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        """Settings from ``BROKER_<FIELD>`` variables, then ``overrides`` (CLI flags) on top."""
        environ = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for f in fields(cls):
            raw = environ.get(f"BROKER_{f.name.upper()}")
            if raw is not None and raw != "":
                values[f.name] = _parse(f.name, raw, f.type)
        settings = cls(**values)
        given = {k: v for k, v in overrides.items() if v is not None}
        return replace(settings, **given) if given else settings


def loopback(host: str) -> bool:
    """Whether binding ``host`` serves only this machine (``localhost``, 127.0.0.0/8, ::1)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _parse(name: str, raw: str, annotation: Any) -> Any:
    kind = str(annotation)
    try:
        if kind.startswith("int"):
            return int(raw)
        if kind.startswith("float"):
            return float(raw)
        if kind.startswith("bool"):
            if raw.lower() in {"1", "true", "yes", "on"}:
                return True
            if raw.lower() in {"0", "false", "no", "off"}:
                return False
            raise ValueError(raw)
        if kind.startswith("Path"):
            return Path(raw)
    except ValueError:
        raise ConfigError(f"BROKER_{name.upper()}: cannot read {raw!r} as {kind}") from None
    return raw
