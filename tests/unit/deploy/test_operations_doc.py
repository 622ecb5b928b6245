"""docs/operations.md documents every exported metric and every shipped alert."""

from __future__ import annotations

import yaml
from deploy_support import DEPLOY, ROOT

from broker.metrics.instruments import FAMILIES

DOC = (ROOT / "docs" / "operations.md").read_text()


def test_every_metric_is_in_the_reference_table() -> None:
    for family in FAMILIES:
        assert f"| `{family.name}` | {family.type} |" in DOC, family.name


def test_every_alert_is_documented() -> None:
    rules = yaml.safe_load((DEPLOY / "prometheus" / "alerts.yml").read_text())
    for group in rules["groups"]:
        for rule in group["rules"]:
            assert f"| `{rule['alert']}` |" in DOC, rule["alert"]
