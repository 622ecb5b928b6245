"""EventBridge against a real PostgreSQL, without HTTP: concurrent schedulers fire each tick once,
concurrent PutTargets respect the five-target limit, and a PutEvents is one transaction."""

from __future__ import annotations

import asyncio
import json

import psycopg
import pytest

from broker.app import Broker
from broker.core.events import EventService, PutEventsEntry
from broker.core.models import Caller, ReceiveRequest
from broker.errors import OverLimit
from tests.integration.conftest import BrokerFactory


@pytest.fixture
async def quiet_broker(running_broker: BrokerFactory, database_url: str):  # type: ignore[no-untyped-def]
    # The scheduler pauses for an hour between steps: the tests drive it by hand.
    async with running_broker(
        database_url, scheduler_interval_seconds=3600.0, delivery_poll_seconds=3600.0
    ) as started:
        yield started


def _events(broker: Broker) -> EventService:
    assert broker.events is not None
    return broker.events.service


async def _received(broker: Broker, caller: Caller, name: str) -> list[str]:
    queue = await broker.service.get_queue(caller, name)
    bodies: list[str] = []
    while True:
        batch = await broker.service.receive_messages(
            caller, queue, ReceiveRequest(max_messages=10, wait_seconds=0)
        )
        if not batch:
            return bodies
        bodies += [m.body for m in batch]


async def test_concurrent_schedulers_fire_each_due_tick_once(
    quiet_broker: Broker, caller: Caller, database_url: str
) -> None:
    events = _events(quiet_broker)
    queue = await quiet_broker.service.create_queue(caller, "ticks", {}, {})
    arns = []
    for i in range(30):
        rule = await events.put_rule(
            caller, f"tick-{i}", None, None, "rate(1 hour)", None, None, None, {}
        )
        await events.put_targets(caller, rule.name, None, [{"Id": "q", "Arn": queue.arn}])
        arns.append(rule.arn)
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(
            "UPDATE broker.event_rules SET next_fire_at = now() WHERE arn = ANY(%s)", (arns,)
        )
    # Four schedulers claim at once, each a few rules per step, until nothing is due.
    fired = 0
    while True:
        counts = await asyncio.gather(*(events.fire_due_schedules(limit=4) for _ in range(4)))
        fired += sum(counts)
        if not any(counts):
            break
    assert fired == 30
    bodies = await _received(quiet_broker, caller, "ticks")
    assert sorted(json.loads(b)["resources"][0] for b in bodies) == sorted(arns)


async def test_concurrent_put_targets_keep_the_five_target_limit(
    quiet_broker: Broker, caller: Caller
) -> None:
    events = _events(quiet_broker)
    queue = await quiet_broker.service.create_queue(caller, "limit", {}, {})
    await events.put_rule(caller, "limit", None, '{"source":["a"]}', None, None, None, None, {})

    async def put(prefix: str) -> bool:
        targets = [{"Id": f"{prefix}{i}", "Arn": queue.arn} for i in range(3)]
        try:
            await events.put_targets(caller, "limit", None, targets)
        except OverLimit:
            return False
        return True

    outcomes = await asyncio.gather(put("a"), put("b"))
    assert sorted(outcomes) == [False, True]
    targets, _ = await events.list_targets(caller, "limit", None, None, None)
    assert len(targets) == 3


async def test_put_events_is_one_transaction_across_targets(
    quiet_broker: Broker, caller: Caller, database_url: str
) -> None:
    events = _events(quiet_broker)
    for name in ("tx-a", "tx-b"):
        queue = await quiet_broker.service.create_queue(caller, name, {}, {})
        await events.put_rule(caller, name, None, '{"source":["tx"]}', None, None, None, None, {})
        await events.put_targets(caller, name, None, [{"Id": "q", "Arn": queue.arn}])
    # Make the second queue's insert fail inside the transaction: nothing may be committed.
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(
            "CREATE FUNCTION broker.refuse_tx_b() RETURNS trigger LANGUAGE plpgsql AS $$ "
            "BEGIN IF NEW.queue_id = (SELECT id FROM broker.queues WHERE name = 'tx-b') "
            "THEN RAISE EXCEPTION 'refused'; END IF; RETURN NEW; END $$"
        )
        conn.execute(
            "CREATE TRIGGER refuse_tx_b BEFORE INSERT ON broker.messages "
            "FOR EACH ROW EXECUTE FUNCTION broker.refuse_tx_b()"
        )
    entry = PutEventsEntry(source="tx", detail_type="t", detail='{"n": 1}')
    with pytest.raises(Exception, match="refused"):
        await events.put_events(caller, [entry])
    assert await _received(quiet_broker, caller, "tx-a") == []
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("DROP TRIGGER refuse_tx_b ON broker.messages")
    await events.put_events(caller, [entry])
    assert len(await _received(quiet_broker, caller, "tx-a")) == 1
    assert len(await _received(quiet_broker, caller, "tx-b")) == 1


async def test_concurrent_put_permissions_keep_every_statement(
    quiet_broker: Broker, caller: Caller
) -> None:
    events = _events(quiet_broker)
    await events.bus(caller, None)
    sids = [f"s{i}" for i in range(8)]
    await asyncio.gather(
        *(
            events.put_permission(
                caller, None, "events:PutEvents", str(100000000000 + i), sid, None, None
            )
            for i, sid in enumerate(sids)
        )
    )
    bus = await events.bus(caller, None)
    assert bus.policy is not None
    assert sorted(s["Sid"] for s in json.loads(bus.policy)["Statement"]) == sids
    await asyncio.gather(*(events.remove_permission(caller, None, sid, False) for sid in sids))
    assert (await events.bus(caller, None)).policy is None


async def test_a_scheduled_rule_reaches_another_accounts_queue_only_under_its_policy(
    quiet_broker: Broker, caller: Caller, database_url: str
) -> None:
    events = _events(quiet_broker)
    other = Caller(account_id="444455556666")
    rule = await events.put_rule(
        caller, "cross-tick", None, None, "rate(1 hour)", None, None, None, {}
    )
    opened = await quiet_broker.service.create_queue(other, "tick-open", {}, {})
    closed = await quiet_broker.service.create_queue(other, "tick-closed", {}, {})
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "events.amazonaws.com"},
                "Action": "sqs:SendMessage",
                "Resource": opened.arn,
                "Condition": {"ArnEquals": {"aws:SourceArn": rule.arn}},
            }
        ],
    }
    await quiet_broker.service.set_queue_attributes(other, opened, {"Policy": json.dumps(policy)})
    await events.put_targets(
        caller,
        rule.name,
        None,
        [{"Id": "open", "Arn": opened.arn}, {"Id": "closed", "Arn": closed.arn}],
    )
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(
            "UPDATE broker.event_rules SET next_fire_at = now() WHERE arn = %s", (rule.arn,)
        )
    assert await events.fire_due_schedules() == 1
    [tick] = await _received(quiet_broker, other, "tick-open")
    assert json.loads(tick)["resources"] == [rule.arn]
    assert await _received(quiet_broker, other, "tick-closed") == []
