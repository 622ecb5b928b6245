"""deploy/grafana: the dashboard is valid JSON, provisioned, and queries exported metrics."""

from __future__ import annotations

import json
from typing import Any

import yaml
from deploy_support import DEPLOY, PROMETHEUS_OWN, promql_metric_names

from broker.metrics.instruments import series_names

GRAFANA = DEPLOY / "grafana"


def dashboard() -> dict[str, Any]:
    result: dict[str, Any] = json.loads((GRAFANA / "dashboards" / "pgbroker.json").read_text())
    return result


def test_every_panel_queries_only_exported_metrics() -> None:
    panels = [p for p in dashboard()["panels"] if p["type"] != "row"]
    assert len(panels) >= 12
    for panel in panels:
        assert panel["targets"], panel["title"]
        for target in panel["targets"]:
            used = promql_metric_names(target["expr"])
            assert used and used <= series_names() | PROMETHEUS_OWN, (panel["title"], used)
    ids = [p["id"] for p in dashboard()["panels"]]
    assert len(ids) == len(set(ids))


def test_the_dashboard_covers_what_operators_asked_for() -> None:
    titles = " | ".join(p["title"].lower() for p in dashboard()["panels"])
    for topic in ("depth", "age", "per second", "error", "latency", "dead-letter", "pool"):
        assert topic in titles, topic


def test_variables_query_exported_metrics() -> None:
    for variable in dashboard()["templating"]["list"]:
        if variable["type"] == "query":
            query = variable["query"]["query"]  # label_values(<selector>, <label>)
            selector = query.removeprefix("label_values(").rsplit(",", 1)[0]
            assert promql_metric_names(selector) <= series_names(), query


def test_grafana_provisions_the_datasource_and_the_dashboard() -> None:
    datasources = yaml.safe_load((GRAFANA / "provisioning/datasources/prometheus.yml").read_text())
    [source] = datasources["datasources"]
    assert source["uid"] == "prometheus" and source["url"] == "http://prometheus:9090"
    providers = yaml.safe_load((GRAFANA / "provisioning/dashboards/pgbroker.yml").read_text())
    [provider] = providers["providers"]
    assert provider["options"]["path"] == "/var/lib/grafana/dashboards"
    assert dashboard()["uid"] == "pgbroker"
