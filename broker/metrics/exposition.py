"""Rendering a scrape: snapshot on the event loop, format on a worker thread.

A scrape is the app registry (the request histogram, the process gauges) rendered by
prometheus_client, followed by the per-queue families rendered from their own rows (see
``broker.metrics.collector``): at ten thousand queues that is 100,000 samples, which
prometheus_client's generic formatting takes a quarter of a second to write. Formatting runs
on a thread so the event loop (every long poll and send it serves) keeps running meanwhile.
"""

from __future__ import annotations

import asyncio
import gzip
from collections.abc import Sequence
from typing import Protocol

from prometheus_client import CollectorRegistry
from prometheus_client.exposition import choose_encoder

from broker.metrics.collector import ProcessGaugeCollector, Renderer

OPENMETRICS_EOF = b"# EOF\n"


class Bulk(Protocol):
    def snapshot(self) -> Renderer: ...


class Exposition:
    def __init__(
        self, registry: CollectorRegistry, process: ProcessGaugeCollector, bulk: Sequence[Bulk]
    ) -> None:
        self.registry = registry
        self._process = process
        self._bulk = bulk

    async def render(
        self, accept: str = "", accept_encoding: str = ""
    ) -> tuple[bytes, dict[str, str]]:
        """The body and headers of a scrape answering these ``Accept`` headers."""
        self._process.sample()
        renderers = [b.snapshot() for b in self._bulk]
        encoder, content_type = choose_encoder(accept)
        openmetrics = content_type.startswith("application/openmetrics-text")
        compress = "gzip" in accept_encoding.lower()

        def produce() -> bytes:
            head = encoder(self.registry)
            tail = "".join(render(openmetrics) for render in renderers).encode()
            if openmetrics:  # the end marker goes last
                body = head.removesuffix(OPENMETRICS_EOF) + tail + OPENMETRICS_EOF
            else:
                body = head + tail
            return gzip.compress(body, compresslevel=1) if compress else body

        body = await asyncio.to_thread(produce)
        headers = {"Content-Type": content_type}
        if compress:
            headers["Content-Encoding"] = "gzip"
        return body, headers
