"""The claim's low-water mark skips consumed history, and full scans find late arrivals."""

from __future__ import annotations

import uuid

import psycopg

from broker.core.models import Caller, ReceiveRequest, SendEntry
from broker.core.service import BrokerService

RECEIVE = ReceiveRequest(max_messages=10)


async def test_a_message_committed_below_the_mark_is_found_by_the_next_full_scan(
    running_broker, database_url: str, caller: Caller
):
    # Full scans every hour: until one is forced, only the bounded scan runs.
    async with running_broker(database_url) as broker:
        service: BrokerService = broker.service
        marks = broker.store._low_water
        marks._full_scan_seconds = 3600
        queue = await service.create_queue(caller, f"lw-{uuid.uuid4().hex[:8]}", {}, {})
        await service.send_message(caller, queue, SendEntry("first"))
        assert [m.body for m in await service.receive_messages(caller, queue, RECEIVE)] == ["first"]
        assert await service.receive_messages(caller, queue, RECEIVE) == []  # raises the mark
        # A row committed with an old visible time, as a long transaction's send would be.
        with psycopg.connect(database_url, autocommit=True) as conn:
            conn.execute(
                "INSERT INTO broker.messages (queue_id, id, message_id, body, sent_at, "
                "visible_at, expires_at) VALUES (%s, nextval('broker.message_ids'), "
                "gen_random_uuid(), 'late', now(), now() - interval '1 minute', "
                "now() + interval '1 day')",
                (queue.id,),
            )
        assert await service.receive_messages(caller, queue, RECEIVE) == []  # below the mark
        marks._marks[queue.id].full_scan_due = 0  # the full scan is due
        assert [m.body for m in await service.receive_messages(caller, queue, RECEIVE)] == ["late"]


async def test_redelivery_after_a_lease_expires_is_not_skipped(
    running_broker, database_url: str, caller: Caller
):
    async with running_broker(database_url) as broker:
        service: BrokerService = broker.service
        broker.store._low_water._full_scan_seconds = 3600
        queue = await service.create_queue(caller, f"lw-{uuid.uuid4().hex[:8]}", {}, {})
        await service.send_message(caller, queue, SendEntry("again"))
        [first] = await service.receive_messages(
            caller, queue, ReceiveRequest(max_messages=10, visibility_timeout=0)
        )
        [second] = await service.receive_messages(caller, queue, RECEIVE)
        assert second.message_id == first.message_id
        await service.change_message_visibility(caller, queue, second.receipt_handle, 0)
        [third] = await service.receive_messages(caller, queue, RECEIVE)
        assert third.message_id == first.message_id
