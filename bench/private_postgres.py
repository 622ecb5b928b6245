"""A private PostgreSQL server that the chaos harness may stop and start.

A shared server must never be stopped by a test, so the database-outage fault runs on a server of
its own: a fresh data directory initialised and first started by ``pgserver`` (the wheel that
ships the embedded server's binaries, and that knows how to run them as an unprivileged user when
the caller is root), then stopped and started with that wheel's ``pg_ctl``. It listens only on a
Unix socket inside its directory, so it takes no TCP port and its URL survives a restart.
"""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import psycopg

STOP_TIMEOUT_SECONDS = 60.0
START_TIMEOUT_SECONDS = 60.0


class PrivatePostgres:
    """One server in a directory of its own; ``stop()`` and ``start()`` are the outage fault.

    The directory is a fresh one in the system's temporary directory, never under pytest's
    ``tmp_path``: as root the server runs as an unprivileged user that must be able to enter every
    parent directory, and pytest resets its shared base directory to mode 0700 whenever any
    pytest run starts on the machine, which would cut a running server off from its files.
    """

    def __init__(self) -> None:
        from pgserver.postgres_server import PostgresServer

        self.directory = Path(tempfile.mkdtemp(prefix="broker-chaos-pg-"))
        self.pgdata = self.directory / "pgdata"
        self.pgdata.mkdir()
        # cleanup_mode=None: this class owns the server's lifetime (pgserver's own clean-up only
        # knows the first postmaster's pid and would miss one started again after an outage).
        self._server: Any = PostgresServer(self.pgdata, cleanup_mode=None)
        info = self._server.get_postmaster_info()
        self.socket_dir = Path(info.socket_dir)
        self.url: str = str(self._server.get_uri())
        self.running = True

    def _pg_ctl(self, *args: str, timeout: float) -> None:
        from pgserver._commands import pg_ctl  # type: ignore[attr-defined]

        pg_ctl(list(args), pgdata=self.pgdata, user=self._server.system_user, timeout=timeout)

    def stop(self, mode: str = "fast") -> None:
        """``pg_ctl stop``: ``fast`` ends every session with an admin-shutdown error (a
        planned restart); ``immediate`` is closer to a crash (no shutdown checkpoint)."""
        self._pg_ctl("-w", "-m", mode, "stop", timeout=STOP_TIMEOUT_SECONDS)
        self.running = False

    def start(self) -> None:
        self._pg_ctl(
            "-w",
            "-o",
            '-h ""',
            "-o",
            f"-k {self.socket_dir}",
            "-l",
            str(self.pgdata / "log"),
            "start",
            timeout=START_TIMEOUT_SECONDS,
        )
        self.running = True
        self.wait_accepting()

    def wait_accepting(self, timeout: float = START_TIMEOUT_SECONDS) -> None:
        """Poll until a connection succeeds (``pg_ctl -w`` returns at the first ready state,
        but a crash recovery can still be finishing)."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                with psycopg.connect(self.url, connect_timeout=2):
                    return
            except psycopg.OperationalError:
                if time.monotonic() > deadline:
                    raise
            time.sleep(0.05)  # polling an observable condition

    def close(self) -> None:
        """Stop the server (if it runs) and remove its data directory."""
        if self.running:
            with contextlib.suppress(subprocess.CalledProcessError, subprocess.TimeoutExpired):
                self.stop("immediate")
        shutil.rmtree(self.directory, ignore_errors=True)

    def create_database(self, name: str) -> str:
        """A new, empty database; its URL."""
        with psycopg.connect(self.url, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return str(psycopg.conninfo.make_conninfo(self.url, dbname=name))
