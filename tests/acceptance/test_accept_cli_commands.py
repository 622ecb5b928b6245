"""The client commands of ``broker`` (queues, send, receive, tail, redrive, test-pattern)
against a real server: in process through click's runner, and once as a real subprocess."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
from accept_support import BASE_ENV, ROOT, free_port


def test_queue_commands(broker_cli: Any, queue_name: str) -> None:
    created = json.loads(
        broker_cli("queues", "create", queue_name, "-a", "DelaySeconds=0", "-t", "team=a", "--json")
    )
    assert created["name"] == queue_name and created["tags"] == {"team": "a"}
    assert queue_name in broker_cli("queues", "create", queue_name)
    listed = json.loads(broker_cli("queues", "list", "--prefix", queue_name, "--json"))
    assert [q["name"] for q in listed] == [queue_name]
    assert queue_name in broker_cli("queues", "list", "--prefix", queue_name)
    shown = json.loads(broker_cli("queues", "show", queue_name, "--json"))
    assert shown["attributes"]["ApproximateNumberOfMessages"] == "0"
    assert "tag:team" in broker_cli("queues", "show", queue_name)
    broker_cli("send", queue_name, "x")
    assert json.loads(broker_cli("queues", "purge", queue_name, "--json")) == {"purged": queue_name}
    assert "deleted" in broker_cli("queues", "delete", queue_name)
    missing = broker_cli("queues", "show", queue_name, code=1)
    assert "QueueDoesNotExist" in missing


def test_send_receive_delete(broker_cli: Any, queue_name: str) -> None:
    broker_cli("queues", "create", queue_name)
    message_id = broker_cli("send", queue_name, "hello", "-a", "kind=greeting").strip()
    sent = json.loads(broker_cli("send", queue_name, "--json", input="from stdin"))
    [first] = json.loads(
        broker_cli("receive", queue_name, "--json", "--wait", "1", "--visibility-timeout", "0")
    )
    assert first["message_id"] == message_id and first["attributes"] == {"kind": "greeting"}
    table = broker_cli("receive", queue_name, "--max", "10", "--wait", "1", "--delete")
    assert "hello" in table and "from stdin" in table
    assert json.loads(broker_cli("receive", queue_name, "--json")) == []
    assert sent["message_id"]


def test_tail_shows_arriving_messages_and_gives_them_back(
    broker_cli: Any, queue_name: str, sqs: Any
) -> None:
    broker_cli("queues", "create", queue_name)
    for body in ("one", "two", "three"):
        broker_cli("send", queue_name, body)
    lines = broker_cli("tail", queue_name, "--count", "3", "--json").splitlines()
    assert sorted(json.loads(line)["body"] for line in lines) == ["one", "three", "two"]
    # Without --delete the messages were handed back when tail ended: visible again now.
    shown = json.loads(broker_cli("queues", "show", queue_name, "--json"))
    assert shown["attributes"]["ApproximateNumberOfMessages"] == "3"
    broker_cli("tail", queue_name, "--count", "3", "--delete")
    shown = json.loads(broker_cli("queues", "show", queue_name, "--json"))
    assert shown["attributes"]["ApproximateNumberOfMessages"] == "0"


def test_redrive_moves_messages_back_with_progress(broker_cli: Any, queue_name: str) -> None:
    dlq, source = queue_name + "-dlq", queue_name + "-src"
    arn = json.loads(broker_cli("queues", "create", dlq, "--json"))["arn"]
    policy = json.dumps({"deadLetterTargetArn": arn, "maxReceiveCount": 1})
    broker_cli("queues", "create", source, "-a", f"RedrivePolicy={policy}")
    for i in range(5):
        broker_cli("send", dlq, f"dead {i}")
    task = json.loads(broker_cli("redrive", dlq, "--to", source, "--rate", "100", "--json"))
    assert task["status"] == "COMPLETED" and task["moved"] == 5
    assert "COMPLETED: moved 0 of 0" in broker_cli("redrive", dlq)
    shown = json.loads(broker_cli("queues", "show", source, "--json"))
    assert shown["attributes"]["ApproximateNumberOfMessages"] == "5"


def test_test_pattern_runs_locally(broker_cli: Any) -> None:
    pattern = json.dumps({"source": ["shop"], "detail": {"total": [{"numeric": [">", 10]}]}})
    hit = json.dumps({"source": "shop", "detail": {"total": 12}})
    miss = json.dumps({"source": "shop", "detail": {"total": 3}})
    assert broker_cli("test-pattern", "--pattern", pattern, "--event", hit) == "match\n"
    assert json.loads(
        broker_cli("test-pattern", "--pattern", pattern, "--event", miss, "--json", code=1)
    ) == {"matches": False}
    assert "invalid pattern" in broker_cli(
        "test-pattern", "--pattern", '{"a": 1}', "--event", "{}", code=2
    )


def test_entry_point_and_unreachable_endpoint(
    broker_cli_env: dict[str, str], queue_name: str
) -> None:
    command = [sys.executable, "-m", "broker"]
    run_env = {**os.environ, **broker_cli_env}
    created = subprocess.run(
        [*command, "queues", "create", queue_name, "--json"],
        cwd=ROOT,
        env=run_env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert created.returncode == 0, created.stderr
    assert json.loads(created.stdout)["name"] == queue_name
    down = subprocess.run(
        [*command, "queues", "list", "--endpoint-url", "http://127.0.0.1:9"],
        cwd=ROOT,
        env=run_env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert down.returncode == 1 and "cannot reach http://127.0.0.1:9" in down.stderr


def test_serve_on_the_embedded_default_stops_its_postgres_on_sigterm(tmp_path: Path) -> None:
    """``broker serve`` with no database URL runs a private PostgreSQL; a SIGTERM (systemd,
    docker stop) shuts the broker down cleanly and stops that server with it."""
    data_dir = Path(tempfile.mkdtemp(prefix="broker-embedded-"))  # see PrivatePostgres: not tmp
    port = free_port()
    env = {**os.environ, **BASE_ENV}
    env.pop("BROKER_DATABASE_URL", None)
    process = subprocess.Popen(
        [sys.executable, "-m", "broker", "serve", "--port", str(port), "--data-dir", str(data_dir)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=(tmp_path / "serve.log").open("wb"),
    )
    try:
        deadline = time.monotonic() + 120
        while not _ready(port):
            assert process.poll() is None, (tmp_path / "serve.log").read_text()
            assert time.monotonic() < deadline, "the embedded broker did not become ready"
            time.sleep(0.2)
        postmaster = data_dir / "postgres" / "postmaster.pid"
        assert postmaster.exists()
        process.send_signal(signal.SIGTERM)
        assert process.wait(60) == 0, (tmp_path / "serve.log").read_text()
        assert not postmaster.exists(), "the embedded PostgreSQL is still running"
    finally:
        if process.poll() is None:
            process.kill()
        shutil.rmtree(data_dir, ignore_errors=True)


def _ready(port: int) -> bool:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False
