"""Competing consumers and cross-process wake-ups, with two broker stacks on one database."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from collections.abc import Callable

from broker.core.models import Caller, ReceiveRequest, SendEntry
from broker.core.service import BrokerService


async def drain(
    service: BrokerService,
    caller: Caller,
    name: str,
    expected: int,
    seen: list[str],
    fifo_log: dict[str, list[int]] | None = None,
) -> None:
    queue = await service.get_queue(caller, name)
    request = ReceiveRequest(
        max_messages=10, wait_seconds=1, visibility_timeout=60, system_attribute_names=("All",)
    )
    while len(seen) < expected:
        messages = await service.receive_messages(caller, queue, request)
        for message in messages:
            seen.append(message.body)
            if fifo_log is not None:
                group = message.system_attributes["MessageGroupId"]
                fifo_log.setdefault(group, []).append(int(message.body.split(":")[1]))
            await service.delete_message(caller, queue, message.receipt_handle)


async def test_competing_consumers_never_share_a_message(
    running_broker, fresh_database_url: str, caller: Caller
):
    async with (
        running_broker(fresh_database_url) as one,
        running_broker(fresh_database_url) as two,
    ):
        name = f"c-{uuid.uuid4().hex[:8]}"
        queue = await one.service.create_queue(caller, name, {}, {})
        total = 600
        for start in range(0, total, 10):
            await one.service.send_message_batch(
                caller, queue, [SendEntry(str(i), id=str(i)) for i in range(start, start + 10)]
            )
        seen: list[str] = []
        await asyncio.gather(
            *(drain(b.service, caller, name, total, seen) for b in (one, two) for _ in range(4))
        )
        counts = Counter(seen)
        assert len(counts) == total
        assert max(counts.values()) == 1


async def test_fifo_order_with_eight_consumers_on_two_brokers(
    running_broker, fresh_database_url: str, caller: Caller
):
    async with (
        running_broker(fresh_database_url) as one,
        running_broker(fresh_database_url) as two,
    ):
        name = f"c-{uuid.uuid4().hex[:8]}.fifo"
        queue = await one.service.create_queue(
            caller, name, {"FifoQueue": "true", "ContentBasedDeduplication": "true"}, {}
        )
        groups, per_group = 5, 40
        for i in range(per_group):
            await one.service.send_message_batch(
                caller,
                queue,
                [SendEntry(f"{g}:{i}", id=f"g{g}", group_id=f"group-{g}") for g in range(groups)],
            )
        seen: list[str] = []
        log: dict[str, list[int]] = {}
        await asyncio.gather(
            *(
                drain(b.service, caller, name, groups * per_group, seen, log)
                for b in (one, two)
                for _ in range(4)
            )
        )
        assert len(seen) == len(set(seen)) == groups * per_group
        for group, order in log.items():
            assert order == list(range(per_group)), group


async def test_long_poll_wakes_on_a_send_from_another_process(
    running_broker, fresh_database_url: str, caller: Caller
):
    # A poll interval longer than the wait: only the NOTIFY can deliver the message in time.
    async with (
        running_broker(fresh_database_url, poll_interval_seconds=60.0) as waiter_side,
        running_broker(fresh_database_url, poll_interval_seconds=60.0) as sender_side,
    ):
        await waiter_side.signal.connected.wait()
        await sender_side.signal.connected.wait()
        name = f"w-{uuid.uuid4().hex[:8]}"
        await waiter_side.service.create_queue(caller, name, {}, {})
        waiting_queue = await waiter_side.service.get_queue(caller, name)
        receive = asyncio.create_task(
            waiter_side.service.receive_messages(
                caller, waiting_queue, ReceiveRequest(max_messages=1, wait_seconds=20)
            )
        )
        while waiter_side.hub.waiting == 0:  # noqa: ASYNC110 - until the receive is parked
            await asyncio.sleep(0)
        sending_queue = await sender_side.service.get_queue(caller, name)
        await sender_side.service.send_message(caller, sending_queue, SendEntry("wake up"))
        messages = await asyncio.wait_for(receive, 15)
        assert [m.body for m in messages] == ["wake up"]


async def test_long_poll_wakes_on_a_local_send(broker, caller: Caller):
    service = broker.service
    name = f"w-{uuid.uuid4().hex[:8]}"
    queue = await service.create_queue(caller, name, {"ReceiveMessageWaitTimeSeconds": "20"}, {})
    receive = asyncio.create_task(
        service.receive_messages(caller, queue, ReceiveRequest(max_messages=1))
    )
    while broker.hub.waiting == 0:  # noqa: ASYNC110 - until the receive is parked
        await asyncio.sleep(0)
    await service.send_message(caller, queue, SendEntry("local"))
    messages = await asyncio.wait_for(receive, 15)
    assert [m.body for m in messages] == ["local"]


async def test_shutdown_ends_waiting_receives_at_once(broker, caller: Caller):
    service = broker.service
    queue = await service.create_queue(caller, f"w-{uuid.uuid4().hex[:8]}", {}, {})
    receive = asyncio.create_task(
        service.receive_messages(caller, queue, ReceiveRequest(max_messages=1, wait_seconds=20))
    )
    while broker.hub.waiting == 0:  # noqa: ASYNC110 - until the receive is parked
        await asyncio.sleep(0)
    service.begin_shutdown()
    assert await asyncio.wait_for(receive, 5) == []


async def until(condition: Callable[[], bool]) -> None:
    """Wait for ``condition`` (checked every 10 ms), failing after 15 seconds."""
    async with asyncio.timeout(15):
        while not condition():  # noqa: ASYNC110 - state of another component, no event to await
            await asyncio.sleep(0.01)


async def test_a_lone_process_stops_notifying_and_a_second_one_is_heard_at_once(
    running_broker, fresh_database_url: str, caller: Caller
):
    """Peers are known from announcements: alone, a process sends no NOTIFY; a newcomer is
    answered at once, and a send on either side then wakes the other (the poll interval is
    longer than the test, so only the NOTIFY can)."""
    fast = {"peer_announce_seconds": 0.2, "poll_interval_seconds": 60.0}
    async with running_broker(fresh_database_url, **fast) as first:
        await first.signal.connected.wait()
        assert first.signal.has_peers()  # assumed during its first announcement period
        await until(lambda: not first.signal.has_peers())
        async with running_broker(fresh_database_url, **fast) as second:
            await second.signal.connected.wait()
            await until(first.signal.has_peers)
            await until(lambda: bool(second.signal.peers))  # heard the answer, not assumed
            name = f"p-{uuid.uuid4().hex[:8]}"
            await first.service.create_queue(caller, name, {}, {})
            for waiter_side, sender_side in ((first, second), (second, first)):
                queue = await waiter_side.service.get_queue(caller, name)
                receive = asyncio.create_task(
                    waiter_side.service.receive_messages(
                        caller, queue, ReceiveRequest(max_messages=1, wait_seconds=20)
                    )
                )
                await until(lambda side=waiter_side: side.hub.waiting > 0)  # type: ignore[misc]
                sending = await sender_side.service.get_queue(caller, name)
                await sender_side.service.send_message(caller, sending, SendEntry("hi"))
                [message] = await asyncio.wait_for(receive, 15)
                await waiter_side.service.delete_message(caller, queue, message.receipt_handle)
        # The second one has stopped: after three silent periods it is forgotten.
        await until(lambda: not first.signal.has_peers())
