"""Prometheus metrics: instruments (the leaf adapters import) and the scrape-time collectors.

* ``instruments``: the exported names (one list: dashboards, alerts and tests read it), the
  per-app ``Instruments`` (counters and the request histogram in their own registry) and the
  request context that access logs share. Protocol adapters import only this module.
* ``observer``: ``MetricsObserver``, the core's ``Observer`` port, counting message events.
* ``collector``: ``QueueGaugeCollector``, queue depth and age computed in the background and served
  from a cache, plus the live process gauges (long-poll waiters, database pool).
* ``exposition``: rendering a scrape off the event loop.
"""
