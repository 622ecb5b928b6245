"""helm/pgbroker, checked without Helm: values against the schema, every referenced value
defined and documented, templates well-formed, and the rendered example in step with them."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from deploy_support import CHART, DEPLOY

TEMPLATES = sorted((CHART / "templates").glob("*"))


def values() -> dict[str, Any]:
    result: dict[str, Any] = yaml.safe_load((CHART / "values.yaml").read_text())
    return result


def schema() -> dict[str, Any]:
    result: dict[str, Any] = json.loads((CHART / "values.schema.json").read_text())
    return result


def leaves(tree: Any, prefix: str = "") -> set[str]:
    if isinstance(tree, dict) and tree and prefix not in {"config", "podSecurityContext"}:
        found = set()
        for key, value in tree.items():
            found |= leaves(value, f"{prefix}.{key}" if prefix else key)
        return found
    return {prefix}


def referenced_values() -> set[str]:
    found = set()
    for template in TEMPLATES:
        found |= set(re.findall(r"\.Values\.([A-Za-z0-9_.]+[A-Za-z0-9_])", template.read_text()))
    return found


def test_chart_metadata() -> None:
    chart = yaml.safe_load((CHART / "Chart.yaml").read_text())
    assert chart["apiVersion"] == "v2"
    assert chart["name"] == "pgbroker"
    assert re.fullmatch(r"\d+\.\d+\.\d+", chart["version"])
    assert chart["appVersion"]
    assert (CHART / "templates" / "NOTES.txt").exists()


def test_values_validate_against_the_schema() -> None:
    jsonschema.Draft7Validator.check_schema(schema())
    jsonschema.validate(values(), schema(), cls=jsonschema.Draft7Validator)


def test_the_rendered_example_s_values_validate_too() -> None:
    example = yaml.safe_load((DEPLOY / "kubernetes" / "values-example.yaml").read_text())
    merged = copy.deepcopy(values())

    def merge(into: dict[str, Any], update: dict[str, Any]) -> None:
        for key, value in update.items():
            if isinstance(value, dict) and isinstance(into.get(key), dict):
                merge(into[key], value)
            else:
                into[key] = value

    merge(merged, example)
    jsonschema.validate(merged, schema(), cls=jsonschema.Draft7Validator)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"replicaCount": "two"}, "is not of type 'integer'"),
        ({"service": {"type": "ClusterIP", "port": 0}}, "less than the minimum"),
        ({"config": {"LOG_LEVEL": "info"}}, "does not match"),
        ({"typo": True}, "Additional properties"),
        ({"terminationGracePeriodSeconds": 10}, "less than the minimum"),
        (
            {"podDisruptionBudget": {"enabled": True, "minAvailable": 1, "maxUnavailable": 1}},
            "should not be valid under",
        ),
    ],
)
def test_the_schema_refuses_mistakes(change: dict[str, Any], message: str) -> None:
    wrong = {**values(), **change}
    with pytest.raises(jsonschema.ValidationError, match=re.escape(message)):
        jsonschema.validate(wrong, schema(), cls=jsonschema.Draft7Validator)


def test_every_value_a_template_uses_exists_in_values_yaml() -> None:
    defined = leaves(values())
    prefixes = {".".join(p.split(".")[:i]) for p in defined for i in range(1, p.count(".") + 2)}
    used = referenced_values()
    assert used, "no .Values references found"
    missing = sorted(u for u in used if u not in prefixes)
    assert not missing, missing


def test_every_value_is_used_and_documented() -> None:
    used = referenced_values()
    readme = (CHART / "README.md").read_text()
    for leaf in sorted(leaves(values())):
        assert any(u == leaf or leaf.startswith(u + ".") for u in used), f"{leaf} is never used"
        assert f"`{leaf}`" in readme, f"{leaf} is not in helm/pgbroker/README.md"


def test_the_schema_and_values_yaml_name_the_same_top_level_values() -> None:
    assert set(schema()["properties"]) == set(values())
    assert schema()["additionalProperties"] is False


@pytest.mark.parametrize("template", TEMPLATES, ids=lambda p: p.name)
def test_template_actions_are_balanced(template: Path) -> None:
    text = template.read_text()
    assert text.count("{{") == text.count("}}")
    blocks = re.findall(r"\{\{-?\s*(if|with|range|define|end)\b", text)
    depth = 0
    for block in blocks:
        depth += -1 if block == "end" else 1
        assert depth >= 0
    assert depth == 0, template.name


def test_hooks_order_the_secret_before_the_migration() -> None:
    secret = (CHART / "templates" / "secret.yaml").read_text()
    job = (CHART / "templates" / "migration-job.yaml").read_text()
    assert "pre-install,pre-upgrade" in secret and "pre-install,pre-upgrade" in job
    weight = re.compile(r'hook-weight: "(-?\d+)"')
    secret_weight = weight.search(secret)
    job_weight = weight.search(job)
    assert secret_weight and job_weight
    assert int(secret_weight.group(1)) < int(job_weight.group(1))


def test_the_rendered_example_has_every_kind_the_chart_makes() -> None:
    kinds = set()
    for template in TEMPLATES:
        kinds |= set(re.findall(r"^kind: (\w+)", template.read_text(), re.M))
    rendered = {
        doc["kind"]
        for doc in yaml.safe_load_all((DEPLOY / "kubernetes" / "pgbroker.yaml").read_text())
    }
    assert kinds - {"Secret"} <= rendered  # the example uses an existing Secret
    assert "Secret" in kinds


def test_the_deployment_template_probes_the_health_endpoints() -> None:
    text = (CHART / "templates" / "deployment.yaml").read_text()
    for probe, path in (("startupProbe", "/healthz"), ("livenessProbe", "/healthz"),
                        ("readinessProbe", "/readyz")):  # fmt: skip
        assert re.search(rf"{probe}:\s+httpGet:\s+path: {path}", text), probe
    for needle in ("topologySpreadConstraints", "preStop", 'include "pgbroker.databaseEnv"'):
        assert needle in text
    assert values()["securityContext"]["readOnlyRootFilesystem"] is True
    assert values()["securityContext"]["capabilities"]["drop"] == ["ALL"]
    assert values()["podSecurityContext"]["runAsNonRoot"] is True
