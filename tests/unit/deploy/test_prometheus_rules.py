"""deploy/prometheus: the alert rules are valid, complete and use only exported metrics.

promtool is not available here; these checks are structural. Where promtool exists, also run
`promtool check rules deploy/prometheus/alerts.yml`.
"""

from __future__ import annotations

from typing import Any

import pytest
import yaml
from deploy_support import CHART, DEPLOY, PROMETHEUS_OWN, promql_metric_names

from broker.metrics.instruments import series_names

RULES = DEPLOY / "prometheus" / "alerts.yml"


def rules() -> list[dict[str, Any]]:
    document = yaml.safe_load(RULES.read_text())
    return [rule for group in document["groups"] for rule in group["rules"]]


def test_the_metric_name_extraction_works() -> None:
    expr = (
        'sum by (account, queue) (rate(broker_messages_sent_total{queue=~"a(b)"}[5m])) '
        "/ ignoring(state) broker_db_pool_max_connections > 0 and on(instance) up"
    )
    assert promql_metric_names(expr) == {
        "broker_messages_sent_total",
        "broker_db_pool_max_connections",
        "up",
    }


def test_every_group_and_rule_is_well_formed() -> None:
    document = yaml.safe_load(RULES.read_text())
    assert set(document) == {"groups"}
    names = [group["name"] for group in document["groups"]]
    assert len(names) == len(set(names))
    for group in document["groups"]:
        assert set(group) <= {"name", "interval", "rules", "limit"}
        for rule in group["rules"]:
            assert set(rule) <= {"alert", "expr", "for", "labels", "annotations"}, rule


@pytest.mark.parametrize("rule", rules(), ids=lambda r: r["alert"])
def test_every_alert_has_severity_summary_and_known_metrics(rule: dict[str, Any]) -> None:
    assert rule["labels"]["severity"] in {"info", "warning", "critical"}
    assert rule["annotations"]["summary"].strip()
    assert rule["annotations"]["description"].strip()
    used = promql_metric_names(rule["expr"])
    assert used, rule["expr"]
    assert used <= series_names() | PROMETHEUS_OWN, used - series_names()
    assert rule["expr"].count("(") == rule["expr"].count(")")


def test_the_issue_s_alerts_are_there() -> None:
    alerts = {rule["alert"] for rule in rules()}
    assert {
        "BrokerQueueOldestMessageTooOld",
        "BrokerDeadLetterQueueNotEmpty",
        "BrokerDown",
        "BrokerNoReadyReplicas",
        "BrokerDatabasePoolExhausted",
    } <= alerts


def test_the_chart_ships_the_same_rules() -> None:
    assert (CHART / "files" / "alerts.yml").read_text() == RULES.read_text()


def test_prometheus_scrapes_the_job_the_rules_name() -> None:
    config = yaml.safe_load((DEPLOY / "prometheus" / "prometheus.yml").read_text())
    assert config["rule_files"] == ["/etc/prometheus/alerts.yml"]
    [job] = config["scrape_configs"]
    assert job["job_name"] == "pgbroker"
    assert job["metrics_path"] == "/metrics"
    assert 'up{job="pgbroker"}' in RULES.read_text()
    compose = yaml.safe_load((DEPLOY / "docker-compose.yml").read_text())
    targets = job["static_configs"][0]["targets"]
    assert (
        {t.split(":")[0] for t in targets} == {"broker-1", "broker-2"} <= set(compose["services"])
    )
