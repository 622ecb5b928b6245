"""The server commands of ``broker``: ``serve`` and ``migrate`` (and the group itself)."""

from __future__ import annotations

import logging
import os
import signal
from pathlib import Path
from types import FrameType
from typing import Any

import click

from broker import __version__
from broker.config import DEFAULT_PORT, ConfigError, Settings


def _settings(**flags: Any) -> Settings:
    try:
        return Settings.from_env(**flags)
    except ConfigError as exc:
        raise click.UsageError(str(exc)) from None


def _database_url(settings: Settings) -> tuple[str, Any]:
    """The external database, or the embedded server started under the data directory."""
    if settings.database_url:
        return settings.database_url, None
    from broker import embedded

    return embedded.start(settings.data_dir)


@click.group()
@click.version_option(__version__, prog_name="broker")
def main() -> None:
    """A durable message broker on PostgreSQL that speaks SQS.

    \b
    Server:  serve, migrate
    Admin:   admin accounts create|list, admin keys create|list|disable|enable|rotate|delete,
             admin rotate-encryption-key
    Client:  queues create|list|show|delete|purge, send, receive, tail, redrive
             (against a running broker: --endpoint-url or BROKER_ENDPOINT_URL)
    Local:   test-pattern
    """


@main.command()
@click.option("--host", default=None, help="Address to bind (default 127.0.0.1).")
@click.option("--port", type=int, default=None, help=f"Port to bind (default {DEFAULT_PORT}).")
@click.option("--database-url", default=None, help="External PostgreSQL; else the embedded one.")
@click.option(
    "--data-dir",
    type=click.Path(path_type=Path),
    default=None,
    help="Where the embedded PostgreSQL keeps its data.",
)
@click.option("--public-url", default=None, help="Base URL of the queue URLs handed out.")
@click.option("--migrate/--no-migrate", default=None, help="Migrate the schema on start (default).")
@click.option("--log-level", default=None, help="debug, info, warning or error.")
@click.option("--workers", type=int, default=None, help="Broker processes on the port (default 1).")
def serve(**flags: Any) -> None:
    """Run the broker (SQS on POST /) until SIGTERM or Ctrl-C."""
    import uvicorn

    from broker.app import create_app
    from broker.storage import migrations

    settings = _settings(**flags)
    logging.basicConfig(
        level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    url, embedded_server = _database_url(settings)
    if settings.migrate:
        migrations.upgrade(url)
    settings = Settings.from_env(**{**flags, "database_url": url})
    scheme = "https" if settings.tls_cert_file else "http"
    click.echo(
        f"broker {__version__} serving SQS on {scheme}://{settings.host}:{settings.port}/",
        err=True,
    )
    app: Any
    if settings.workers == 1:
        app = create_app(settings)
    else:
        # Worker processes build their own app from the environment: hand them the resolved
        # settings that way (the embedded server's URL included), migrations already done.
        for name, value in vars(settings).items():
            os.environ[f"BROKER_{name.upper()}"] = str(value) if value is not None else ""
        os.environ["BROKER_MIGRATE"] = "false"
        app = "broker.cli:worker_app"
    # uvicorn re-raises the signal it caught once its graceful shutdown is done; with this handler
    # that ends the process normally (status 0), so exit handlers run: the embedded PostgreSQL
    # stops with its last broker instead of staying up after a SIGTERM.
    signal.signal(signal.SIGTERM, _exit_after_shutdown)
    uvicorn.run(
        app,
        factory=settings.workers > 1,
        workers=settings.workers,
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level.lower(),
        # Long polls last up to 20 s: let them finish on shutdown, then stop.
        timeout_graceful_shutdown=25,
        timeout_keep_alive=int(settings.keep_alive_seconds),
        # Past this many open connections and running requests, an immediate 503 (which SDKs
        # retry) instead of memory growing without bound.
        limit_concurrency=settings.max_connections,
        ssl_certfile=str(settings.tls_cert_file) if settings.tls_cert_file else None,
        ssl_keyfile=str(settings.tls_key_file) if settings.tls_key_file else None,
    )
    del embedded_server  # kept alive until here; the embedded server stops with the last user


def _exit_after_shutdown(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(0)


def worker_app() -> Any:
    """The application of one worker process of ``broker serve --workers N``."""
    from broker.app import create_app

    return create_app(Settings.from_env())


@main.command()
@click.option("--database-url", default=None, help="External PostgreSQL; else the embedded one.")
@click.option("--data-dir", type=click.Path(path_type=Path), default=None)
@click.option("--revision", default="head", show_default=True, help="Revision to upgrade to.")
def migrate(database_url: str | None, data_dir: Path | None, revision: str) -> None:
    """Upgrade the schema to the latest revision (or to --revision)."""
    from broker.storage import migrations

    settings = _settings(database_url=database_url, data_dir=data_dir)
    url, embedded_server = _database_url(settings)
    migrations.upgrade(url, revision)
    click.echo(f"schema at {migrations.current_revision(url) or 'base'}")
    del embedded_server
