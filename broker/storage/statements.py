"""NamedStatements: run the named SQL of one file on the pool, with driver errors translated.

Every store is one of these: its methods name a statement and pass plain parameters.
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator, Callable, Iterable, Mapping, Sequence
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any, LiteralString, TypeVar

from psycopg import AsyncConnection
from psycopg.rows import DictRow
from psycopg.types.json import Jsonb
from psycopg_pool import AsyncConnectionPool

from broker.storage.errors import translate_errors
from broker.storage.health import DatabaseHealth, health_of

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

Connection = AsyncConnection[DictRow]
Record = TypeVar("Record", bound="DataclassInstance")


def int_array(values: Iterable[int]) -> str:
    """A PostgreSQL array literal for an ``int[]``/``bigint[]`` parameter: the driver passes a
    string through in microseconds, where it dumps a list element by element in Python (50-90
    us for ten receipt handles, per statement)."""
    return "{" + ",".join(map(str, values)) + "}"


def handle_rows(rows: Sequence[int]) -> dict[str, Any]:
    """The message rows of a batch of receipt handles as statement parameters: the rows, and
    their least and greatest id, which bound the primary-key lookup whatever the statistics say
    (a queue they have not seen yet looks empty, and so cheap to read whole)."""
    return {"rows": int_array(rows), "first": min(rows, default=0), "last": max(rows, default=-1)}


def record(cls: type[Record], row: Mapping[str, Any]) -> Record:
    """The model whose fields are the row's columns of the same names."""
    return cls(**{field.name: row[field.name] for field in dataclasses.fields(cls)})


class NamedStatements:
    replanned: frozenset[str] = frozenset()
    """Statements planned with their parameters on every call. The driver prepares a statement
    after a few calls, and the server may then settle on a generic plan that cannot see the
    parameters' statistics (for example, that this queue holds most of the table)."""

    def __init__(
        self, pool: AsyncConnectionPool[Connection], queries: Mapping[str, LiteralString]
    ) -> None:
        self.pool = pool
        self._queries = queries
        self.health: DatabaseHealth = health_of(pool)

    @asynccontextmanager
    async def _connection(self, wait_seconds: float | None = None) -> AsyncIterator[Connection]:
        """A pooled connection; ``wait_seconds`` bounds the wait for one (default: the pool's,
        or a short wait while the database is believed down)."""
        health = self.health
        wait = health.acquire_timeout() if wait_seconds is None else wait_seconds
        with translate_errors(health):
            async with self.pool.connection(timeout=wait) as conn:
                yield conn
        health.succeeded()

    async def _change_policy(
        self,
        lock: str,
        update: str,
        row: Mapping[str, Any],
        change: Callable[[str | None], str | None],
    ) -> DictRow | None:
        """Replace one row's ``Policy`` attribute with ``change(current)`` (None removes it):
        ``lock`` reads it under a row lock and ``update`` (with ``set`` and ``unset``) writes it,
        in one transaction; ``row`` names the row. None when the row is gone."""
        async with self._connection() as conn, conn.transaction():
            cursor = await conn.execute(self._queries[lock], row)
            current = await cursor.fetchone()
            if current is None:
                return None
            policy = change(current["policy"])
            set_, unset = ({"Policy": policy}, []) if policy is not None else ({}, ["Policy"])
            cursor = await conn.execute(
                self._queries[update], {**row, "set": Jsonb(set_), "unset": unset}
            )
            return await cursor.fetchone()

    def _prepare(self, name: str) -> bool | None:
        """None: the driver's default (prepared after a few calls); False: never prepared."""
        return False if name in self.replanned else None

    async def _one(self, name: str, params: Mapping[str, Any]) -> DictRow | None:
        async with self._connection() as conn:
            cursor = await conn.execute(self._queries[name], params, prepare=self._prepare(name))
            return await cursor.fetchone()

    async def _all(self, name: str, params: Mapping[str, Any]) -> list[DictRow]:
        async with self._connection() as conn:
            cursor = await conn.execute(self._queries[name], params, prepare=self._prepare(name))
            return await cursor.fetchall()

    async def _run(self, name: str, params: Mapping[str, Any]) -> int:
        async with self._connection() as conn:
            cursor = await conn.execute(self._queries[name], params, prepare=self._prepare(name))
            return cursor.rowcount
