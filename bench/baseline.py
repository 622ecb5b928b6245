"""The raw-SQL baseline: the same lifecycle as bare statements on a plain one-table SKIP LOCKED
schema, no HTTP, same database and run. The broker's figures are reported as ratios to it."""

from __future__ import annotations

import asyncio
import time

from psycopg import AsyncConnection

SCHEMA = """
DROP SCHEMA IF EXISTS bench_baseline CASCADE;
CREATE SCHEMA bench_baseline;
CREATE TABLE bench_baseline.messages (
    id bigserial PRIMARY KEY,
    body text NOT NULL,
    visible_at timestamptz NOT NULL DEFAULT now(),
    receive_count integer NOT NULL DEFAULT 0
);
CREATE INDEX ON bench_baseline.messages (visible_at);
"""
SEND = "INSERT INTO bench_baseline.messages (body) SELECT unnest(%s::text[])"
RECEIVE = """
UPDATE bench_baseline.messages m
SET visible_at = now() + interval '30 seconds', receive_count = m.receive_count + 1
WHERE m.id IN (
    SELECT id FROM bench_baseline.messages WHERE visible_at <= now()
    ORDER BY visible_at LIMIT %s FOR UPDATE SKIP LOCKED
)
RETURNING m.id, m.body
"""
DELETE = "DELETE FROM bench_baseline.messages WHERE id = ANY(%s)"


async def run(
    url: str,
    batch: int,
    producers: int,
    consumers: int,
    *,
    total: int | None = None,
    duration: float | None = None,
) -> float:
    """Messages per second through send + receive + delete."""
    async with await AsyncConnection.connect(url, autocommit=True) as conn:
        await conn.execute(SCHEMA)
    deadline = time.perf_counter() + duration if duration else None
    sent = done = 0
    producing = producers
    body = "x" * 256
    per_producer = (total or 0) // producers

    async def produce() -> None:
        nonlocal sent, producing
        async with await AsyncConnection.connect(url, autocommit=True) as conn:
            count = 0
            while (deadline is None and count < per_producer) or (
                deadline is not None and time.perf_counter() < deadline
            ):
                await conn.execute(SEND, ([body] * batch,))
                count += batch
                sent += batch
        producing -= 1

    async def consume() -> None:
        nonlocal done
        async with await AsyncConnection.connect(url, autocommit=True) as conn:
            while (producing or done < sent) and (
                deadline is None or time.perf_counter() < deadline
            ):
                rows = await (await conn.execute(RECEIVE, (batch,))).fetchall()
                if not rows:
                    await asyncio.sleep(0.001)
                    continue
                await conn.execute(DELETE, ([r[0] for r in rows],))
                done += len(rows)

    started = time.perf_counter()
    await asyncio.gather(
        *(produce() for _ in range(producers)), *(consume() for _ in range(consumers))
    )
    elapsed = duration if duration else time.perf_counter() - started
    async with await AsyncConnection.connect(url, autocommit=True) as conn:
        await conn.execute("DROP SCHEMA bench_baseline CASCADE")
    return done / elapsed
