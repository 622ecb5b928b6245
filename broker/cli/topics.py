"""Client commands for topics: ``topics create|list|show|delete|subscribe|subscriptions|
unsubscribe`` and ``publish``, through ``broker.sdk`` like the queue commands.

Tables for people (rich), ``--json`` for scripts; the same endpoint and credential options.
"""

from __future__ import annotations

import dataclasses
import json
import sys
from typing import Any

import click
from rich.table import Table

from broker.cli.queues import Target, _console, _emit, _pairs, client_options
from broker.cli.server import main
from broker.sdk import SubscriptionInfo, TopicInfo


def _topic_json(info: TopicInfo) -> dict[str, Any]:
    return dataclasses.asdict(info)


def _subscription_json(info: SubscriptionInfo) -> dict[str, Any]:
    return dataclasses.asdict(info)


def _subscriptions_table(found: list[SubscriptionInfo]) -> Table:
    table = Table("subscription arn", "protocol", "endpoint", "raw", "filter policy", "state")
    for s in found:
        table.add_row(
            s.arn,
            s.protocol,
            s.endpoint,
            "yes" if s.raw else "no",
            s.attributes.get("FilterPolicy", ""),
            "pending confirmation" if s.pending_confirmation else "confirmed",
        )
    return table


def _filter_policy(text: str | None) -> str | None:
    if text is None:
        return None
    try:
        policy = json.loads(text)
    except ValueError as exc:
        raise click.BadParameter(f"not JSON: {exc}", param_hint="--filter-policy") from None
    if not isinstance(policy, dict):
        raise click.BadParameter("must be a JSON object", param_hint="--filter-policy")
    return text


@main.group()
def topics() -> None:
    """Create, list, show and delete topics; subscribe queues and endpoints to them."""


@topics.command("create")
@click.argument("name")
@click.option("--fifo", is_flag=True, help="A FIFO topic (the name must end in .fifo).")
@click.option("--attribute", "-a", multiple=True, help="KEY=VALUE (SNS attribute names).")
@click.option("--tag", "-t", multiple=True, help="KEY=VALUE.")
@client_options
def topics_create(
    target: Target, name: str, fifo: bool, attribute: tuple[str, ...], tag: tuple[str, ...]
) -> None:
    """Create topic NAME (idempotent when the attributes match)."""
    with target.client() as client:
        info = client.topic(name).create(
            _pairs(attribute, "--attribute"), _pairs(tag, "--tag"), fifo=fifo or None
        )
    if target.as_json:
        _emit(_topic_json(info))
    else:
        _console().print(f"created [bold]{info.name}[/bold]  {info.arn}")


@topics.command("list")
@click.option("--prefix", default=None, help="Only names starting with this.")
@client_options
def topics_list(target: Target, prefix: str | None) -> None:
    """List topics."""
    with target.client() as client:
        found = [t for t in client.list_topics() if t.name.startswith(prefix or "")]
    if target.as_json:
        _emit([_topic_json(t) for t in found])
        return
    table = Table("name", "type", "arn")
    for t in found:
        table.add_row(t.name, "fifo" if t.fifo else "standard", t.arn)
    _console().print(table)


@topics.command("show")
@click.argument("name")
@client_options
def topics_show(target: Target, name: str) -> None:
    """A topic's attributes, tags and subscriptions."""
    with target.client() as client:
        topic = client.topic(name)
        info = topic.info()
        subscriptions = topic.subscriptions()
    if target.as_json:
        _emit(
            {
                **_topic_json(info),
                "subscriptions": [_subscription_json(s) for s in subscriptions],
            }
        )
        return
    console = _console()
    console.print(f"[bold]{info.name}[/bold] ({'fifo' if info.fifo else 'standard'})")
    console.print(f"arn  {info.arn}")
    table = Table("attribute", "value")
    for key, value in sorted(info.attributes.items()):
        if key not in ("Policy", "EffectiveDeliveryPolicy"):  # long JSON: see --json
            table.add_row(key, value)
    for key, value in sorted(info.tags.items()):
        table.add_row(f"tag:{key}", value)
    console.print(table)
    if subscriptions:
        console.print(_subscriptions_table(subscriptions))


@topics.command("delete")
@click.argument("name")
@client_options
def topics_delete(target: Target, name: str) -> None:
    """Delete a topic and its subscriptions (idempotent)."""
    with target.client() as client:
        client.topic(name).delete()
    if target.as_json:
        _emit({"deleted": name})
    else:
        click.echo(f"deleted {name}")


@topics.command("subscribe")
@click.argument("topic")
@click.option("--queue", default=None, help="Queue name or ARN to deliver to.")
@click.option("--http", "url", default=None, help="HTTP/S endpoint URL to POST to.")
@click.option("--filter-policy", default=None, help="A filter policy (JSON object).")
@click.option(
    "--filter-body", is_flag=True, help="Match the policy on the message body (JSON) instead."
)
@click.option("--raw", is_flag=True, help="Deliver the message itself, not the SNS envelope.")
@click.option("--attribute", "-a", multiple=True, help="KEY=VALUE (subscription attributes).")
@client_options
def topics_subscribe(
    target: Target,
    topic: str,
    queue: str | None,
    url: str | None,
    filter_policy: str | None,
    filter_body: bool,
    raw: bool,
    attribute: tuple[str, ...],
) -> None:
    """Subscribe a queue (--queue) or an HTTP/S endpoint (--http) to TOPIC."""
    if (queue is None) == (url is None):
        raise click.UsageError("give exactly one of --queue and --http")
    policy = _filter_policy(filter_policy)
    scope = "MessageBody" if filter_body else None
    attributes = _pairs(attribute, "--attribute")
    with target.client() as client:
        handle = client.topic(topic)
        if queue is not None:
            info = handle.subscribe_queue(
                queue, policy, raw, filter_policy_scope=scope, attributes=attributes
            )
        else:
            assert url is not None
            info = handle.subscribe_http(
                url, policy, raw, filter_policy_scope=scope, attributes=attributes
            )
    if target.as_json:
        _emit(_subscription_json(info))
        return
    state = " (pending confirmation)" if info.pending_confirmation else ""
    click.echo(f"{info.arn}{state}")


@topics.command("subscriptions")
@click.argument("topic")
@client_options
def topics_subscriptions(target: Target, topic: str) -> None:
    """List TOPIC's subscriptions."""
    with target.client() as client:
        found = client.topic(topic).subscriptions()
    if target.as_json:
        _emit([_subscription_json(s) for s in found])
    else:
        _console().print(_subscriptions_table(found))


@topics.command("unsubscribe")
@click.argument("subscription_arn")
@client_options
def topics_unsubscribe(target: Target, subscription_arn: str) -> None:
    """Delete a subscription (by its ARN)."""
    with target.client() as client:
        client.unsubscribe(subscription_arn)
    if target.as_json:
        _emit({"unsubscribed": subscription_arn})
    else:
        click.echo(f"unsubscribed {subscription_arn}")


@main.command()
@click.argument("topic")
@click.argument("message", default="-")
@click.option("--subject", default=None, help="The Subject of the envelope.")
@click.option("--attribute", "-a", multiple=True, help="KEY=VALUE (a String attribute).")
@click.option("--group-id", default=None, help="FIFO message group.")
@click.option("--dedup-id", default=None, help="FIFO deduplication id.")
@client_options
def publish(
    target: Target,
    topic: str,
    message: str,
    subject: str | None,
    attribute: tuple[str, ...],
    group_id: str | None,
    dedup_id: str | None,
) -> None:
    """Publish MESSAGE (or standard input, with - or nothing) to TOPIC."""
    text = sys.stdin.read() if message == "-" else message
    with target.client() as client:
        published = client.topic(topic).publish(
            text,
            subject=subject,
            attributes=_pairs(attribute, "--attribute"),
            group_id=group_id,
            deduplication_id=dedup_id,
        )
    if target.as_json:
        _emit(dataclasses.asdict(published))
    else:
        click.echo(published.message_id)
