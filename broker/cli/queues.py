"""Client commands: queues, send, receive, tail, redrive, through ``broker.sdk``.

Tables for people (rich), ``--json`` for scripts. The endpoint and credentials come from flags or
the environment: ``BROKER_ENDPOINT_URL``, ``BROKER_ACCESS_KEY_ID`` / ``AWS_ACCESS_KEY_ID``,
``BROKER_SECRET_ACCESS_KEY`` / ``AWS_SECRET_ACCESS_KEY``.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from broker.cli.server import main
from broker.config import DEFAULT_PORT
from broker.core.accounts import DEVELOPMENT_ACCESS_KEY_ID, DEVELOPMENT_SECRET_ACCESS_KEY
from broker.sdk import Client, MessageData, QueueInfo
from broker.sdk.errors import ApiError, BrokerClientError

F = TypeVar("F", bound=Callable[..., Any])
REDRIVE_POLL_SECONDS = 0.5


@dataclasses.dataclass(frozen=True)
class Target:
    endpoint_url: str
    access_key_id: str
    secret_access_key: str
    region: str
    as_json: bool

    def client(self) -> Client:
        return Client(
            self.endpoint_url, self.access_key_id, self.secret_access_key, region=self.region
        )


def client_options(command: F) -> F:
    """The options every client command takes, gathered into ``target: Target``."""

    @click.option(
        "--endpoint-url",
        envvar="BROKER_ENDPOINT_URL",
        default=f"http://127.0.0.1:{DEFAULT_PORT}",
        show_default=True,
        help="The broker (env BROKER_ENDPOINT_URL).",
    )
    @click.option(
        "--access-key-id",
        envvar=["BROKER_ACCESS_KEY_ID", "AWS_ACCESS_KEY_ID"],
        # The development credentials a broker on a loopback address accepts.
        default=DEVELOPMENT_ACCESS_KEY_ID,
        help="Env BROKER_ACCESS_KEY_ID or AWS_ACCESS_KEY_ID.",
    )
    @click.option(
        "--secret-access-key",
        envvar=["BROKER_SECRET_ACCESS_KEY", "AWS_SECRET_ACCESS_KEY"],
        default=DEVELOPMENT_SECRET_ACCESS_KEY,
        help="Env BROKER_SECRET_ACCESS_KEY or AWS_SECRET_ACCESS_KEY.",
    )
    @click.option("--region", envvar=["AWS_REGION", "AWS_DEFAULT_REGION"], default="us-east-1")
    @click.option("--json", "as_json", is_flag=True, help="Machine-readable JSON output.")
    @functools.wraps(command)
    def wrapper(
        endpoint_url: str,
        access_key_id: str,
        secret_access_key: str,
        region: str,
        as_json: bool,
        **kwargs: Any,
    ) -> Any:
        target = Target(endpoint_url, access_key_id, secret_access_key, region, as_json)
        try:
            return command(target=target, **kwargs)
        except ApiError as exc:
            raise click.ClickException(f"{exc.code}: {exc.detail}") from None
        except BrokerClientError as exc:
            raise click.ClickException(f"cannot reach {endpoint_url}: {exc}") from None

    return wrapper  # type: ignore[return-value]


def _pairs(values: tuple[str, ...], what: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for value in values:
        key, sep, item = value.partition("=")
        if not sep or not key:
            raise click.BadParameter(f"{what} must be KEY=VALUE, not {value!r}")
        out[key] = item
    return out


def _emit(data: Any) -> None:
    click.echo(json.dumps(data, indent=None, sort_keys=False, default=str))


def _console() -> Console:
    return Console(highlight=False, soft_wrap=True)


def _message_json(message: MessageData) -> dict[str, Any]:
    return {
        "message_id": message.message_id,
        "receipt_handle": message.receipt_handle,
        "body": message.body,
        "attributes": {
            name: value.value if isinstance(value.value, str) else value.value.hex()
            for name, value in message.attributes.items()
        },
        "system_attributes": dict(message.system_attributes),
    }


def _queue_json(info: QueueInfo) -> dict[str, Any]:
    return dataclasses.asdict(info)


@main.group()
def queues() -> None:
    """Create, list, show, delete and purge queues."""


@queues.command("create")
@click.argument("name")
@click.option("--fifo", is_flag=True, help="A FIFO queue (the name must end in .fifo).")
@click.option("--attribute", "-a", multiple=True, help="KEY=VALUE (SQS attribute names).")
@click.option("--tag", "-t", multiple=True, help="KEY=VALUE.")
@client_options
def queues_create(
    target: Target, name: str, fifo: bool, attribute: tuple[str, ...], tag: tuple[str, ...]
) -> None:
    """Create queue NAME (idempotent when the attributes match)."""
    with target.client() as client:
        queue = client.create_queue(
            name, _pairs(attribute, "--attribute"), _pairs(tag, "--tag"), fifo=fifo or None
        )
        info = queue.info()
    if target.as_json:
        _emit(_queue_json(info))
    else:
        _console().print(f"created [bold]{info.name}[/bold]  {info.url}")


@queues.command("list")
@click.option("--prefix", default=None, help="Only names starting with this.")
@client_options
def queues_list(target: Target, prefix: str | None) -> None:
    """List queues."""
    with target.client() as client:
        found = client.list_queues(prefix)
    if target.as_json:
        _emit([_queue_json(q) for q in found])
        return
    table = Table("name", "type", "url")
    for q in found:
        table.add_row(q.name, "fifo" if q.fifo else "standard", q.url)
    _console().print(table)


@queues.command("show")
@click.argument("name")
@client_options
def queues_show(target: Target, name: str) -> None:
    """A queue's attributes (with message counts) and tags."""
    with target.client() as client:
        info = client.queue(name).info()
    if target.as_json:
        _emit(_queue_json(info))
        return
    console = _console()
    console.print(f"[bold]{info.name}[/bold] ({'fifo' if info.fifo else 'standard'})")
    console.print(f"url  {info.url}\narn  {info.arn}")
    table = Table("attribute", "value")
    for key, value in sorted(info.attributes.items()):
        table.add_row(key, value)
    for key, value in sorted(info.tags.items()):
        table.add_row(f"tag:{key}", value)
    console.print(table)


@queues.command("delete")
@click.argument("name")
@client_options
def queues_delete(target: Target, name: str) -> None:
    """Delete a queue and its messages."""
    with target.client() as client:
        client.queue(name).delete()
    if target.as_json:
        _emit({"deleted": name})
    else:
        click.echo(f"deleted {name}")


@queues.command("purge")
@click.argument("name")
@client_options
def queues_purge(target: Target, name: str) -> None:
    """Delete every message of a queue (once a minute at most)."""
    with target.client() as client:
        client.queue(name).purge()
    if target.as_json:
        _emit({"purged": name})
    else:
        click.echo(f"purged {name}")


@main.command()
@click.argument("queue")
@click.argument("body", default="-")
@click.option("--attribute", "-a", multiple=True, help="KEY=VALUE (a String attribute).")
@click.option("--delay", type=int, default=None, help="Seconds before it can be received.")
@click.option("--group-id", default=None, help="FIFO message group.")
@click.option("--dedup-id", default=None, help="FIFO deduplication id.")
@client_options
def send(
    target: Target,
    queue: str,
    body: str,
    attribute: tuple[str, ...],
    delay: int | None,
    group_id: str | None,
    dedup_id: str | None,
) -> None:
    """Send BODY (or standard input, with - or nothing) to QUEUE."""
    text = sys.stdin.read() if body == "-" else body
    with target.client() as client:
        sent = client.queue(queue).send(
            text,
            attributes=_pairs(attribute, "--attribute"),
            delay=delay,
            group_id=group_id,
            deduplication_id=dedup_id,
        )
    if target.as_json:
        _emit(dataclasses.asdict(sent))
    else:
        click.echo(sent.message_id)


def _messages_table(messages: list[MessageData]) -> Table:
    table = Table("message id", "receives", "body", "attributes")
    for m in messages:
        attributes = ", ".join(f"{k}={v.value!r}" for k, v in m.attributes.items())
        table.add_row(m.message_id, str(m.receive_count), m.body, attributes)
    return table


@main.command()
@click.argument("queue")
@click.option("--max", "max_messages", type=click.IntRange(1, 10), default=1, show_default=True)
@click.option(
    "--wait",
    type=click.IntRange(0, 20),
    is_flag=False,
    flag_value=20,
    default=0,
    help="Long-poll up to N seconds (--wait alone: 20).",
)
@click.option("--visibility-timeout", type=int, default=None)
@click.option("--delete", is_flag=True, help="Delete what was received.")
@client_options
def receive(
    target: Target,
    queue: str,
    max_messages: int,
    wait: int,
    visibility_timeout: int | None,
    delete: bool,
) -> None:
    """Receive up to --max messages from QUEUE (they stay unless --delete)."""
    with target.client() as client:
        handle = client.queue(queue)
        messages = handle.receive(max_messages, wait, visibility_timeout)
        if delete and messages:
            handle.delete_batch(messages)
    if target.as_json:
        _emit([_message_json(m) for m in messages])
    elif messages:
        _console().print(_messages_table(list(messages)))
    else:
        click.echo("no messages", err=True)


@contextmanager
def _held(client: Client, queue: str) -> Iterator[list[str]]:
    """Receipt handles held by ``tail``; given back (visibility 0) when it ends."""
    held: list[str] = []
    try:
        yield held
    finally:
        if held:
            try:
                client.queue(queue).change_visibility_batch(held, 0)
            except BrokerClientError as exc:
                click.echo(f"could not release {len(held)} message(s): {exc}", err=True)


@main.command()
@click.argument("queue")
@click.option("--delete", is_flag=True, help="Consume: delete each message shown.")
@click.option(
    "--hold",
    type=click.IntRange(0, 43200),
    default=30,
    show_default=True,
    help="Without --delete: seconds each shown message stays invisible to others.",
)
@click.option("--count", type=int, default=None, help="Stop after N messages.")
@click.option("--wait", type=click.IntRange(1, 20), default=20, hidden=True)
@client_options
def tail(target: Target, queue: str, delete: bool, hold: int, count: int | None, wait: int) -> None:
    """Show messages of QUEUE as they arrive, until Ctrl-C (or --count).

    tail is a consumer: each message it shows is received. Without --delete it is held for
    --hold seconds and given back when tail exits; ids already shown are not shown again.
    """
    console = _console()
    seen: set[str] = set()
    shown = 0
    with target.client() as client, _held(client, queue) as held:
        handle = client.queue(queue)
        try:
            while count is None or shown < count:
                wanted = 10 if count is None else min(10, count - shown)
                messages = handle.receive(wanted, wait, None if delete else hold)
                fresh = [m for m in messages if m.message_id not in seen]
                for m in fresh:
                    seen.add(m.message_id)
                    if target.as_json:
                        _emit(_message_json(m))
                    else:
                        stamp = time.strftime("%H:%M:%S")
                        attributes = " ".join(f"{k}={v.value!r}" for k, v in m.attributes.items())
                        console.print(
                            f"[dim]{stamp}[/dim] [cyan]{m.message_id}[/cyan] {m.body}"
                            + (f"  [dim]{attributes}[/dim]" if attributes else ""),
                            markup=True,
                        )
                    shown += 1
                if delete and messages:
                    handle.delete_batch(messages)
                elif messages:
                    held.extend(m.receipt_handle for m in messages)
        except KeyboardInterrupt:
            pass


@main.command()
@click.argument("dlq")
@click.option("--to", "destination", default=None, help="Destination queue (default: sources).")
@click.option("--rate", type=click.IntRange(1, 500), default=None, help="Messages per second.")
@click.option("--no-wait", is_flag=True, help="Start the task and return.")
@client_options
def redrive(
    target: Target, dlq: str, destination: str | None, rate: int | None, no_wait: bool
) -> None:
    """Move the messages of dead-letter queue DLQ back to their sources (or --to)."""
    with target.client() as client:
        queue = client.queue(dlq)
        handle = queue.redrive(destination, rate)
        if no_wait:
            _emit({"task_handle": handle}) if target.as_json else click.echo(handle)
            return
        task = _follow(queue, handle, show=not target.as_json)
    if target.as_json:
        _emit(dataclasses.asdict(task))
    else:
        click.echo(f"{task.status}: moved {task.moved} of {task.to_move}")
        if task.failure_reason:
            click.echo(task.failure_reason, err=True)
    if task.status != "COMPLETED":
        sys.exit(1)


def _follow(queue: Any, handle: str, show: bool) -> Any:
    """Poll the move task until it ends, drawing a progress bar."""
    columns = (
        TextColumn("redrive {task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    with Progress(*columns, disable=not show, transient=False) as progress:
        bar = progress.add_task(queue.name, total=None)
        while True:
            tasks = [t for t in queue.redrive_tasks(limit=10) if t.task_handle == handle]
            if not tasks:
                raise click.ClickException(f"move task {handle} disappeared")
            task = tasks[0]
            progress.update(bar, total=max(task.to_move, task.moved) or None, completed=task.moved)
            if task.status not in ("RUNNING", "CANCELLING"):
                return task
            time.sleep(REDRIVE_POLL_SECONDS)
