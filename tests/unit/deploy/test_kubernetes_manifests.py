"""deploy/kubernetes: the rendered manifests validate against Kubernetes' own schemas.

kubernetes-validate bundles the OpenAPI schemas of each Kubernetes release, so this runs
offline. It has no schemas for the Prometheus Operator's CRDs: those are checked by hand.
"""

from __future__ import annotations

from typing import Any

import pytest
import yaml
from deploy_support import DEPLOY

kubernetes_validate = pytest.importorskip("kubernetes_validate")

KUBERNETES_VERSION = "1.30.0"
CRDS = {"ServiceMonitor", "PrometheusRule"}


def documents() -> list[dict[str, Any]]:
    return [
        d for d in yaml.safe_load_all((DEPLOY / "kubernetes" / "pgbroker.yaml").read_text()) if d
    ]


@pytest.mark.parametrize(
    "document",
    [d for d in documents() if d["kind"] not in CRDS],
    ids=lambda d: f"{d['kind']}/{d['metadata']['name']}",
)
def test_built_in_kinds_validate_strictly(document: dict[str, Any]) -> None:
    kubernetes_validate.validate(document, KUBERNETES_VERSION, strict=True)


def test_operator_resources_are_well_formed() -> None:
    by_kind = {d["kind"]: d for d in documents()}
    monitor = by_kind["ServiceMonitor"]
    assert monitor["apiVersion"] == "monitoring.coreos.com/v1"
    [endpoint] = monitor["spec"]["endpoints"]
    assert endpoint["port"] == "http" and endpoint["path"] == "/metrics"
    service = by_kind["Service"]
    assert (
        monitor["spec"]["selector"]["matchLabels"].items() <= service["metadata"]["labels"].items()
    )
    assert service["metadata"]["labels"][monitor["spec"]["jobLabel"]] == "pgbroker"
    rule = by_kind["PrometheusRule"]
    alerts = yaml.safe_load((DEPLOY / "prometheus" / "alerts.yml").read_text())
    assert rule["spec"]["groups"] == alerts["groups"]


def test_the_deployment_is_one_an_operator_can_trust() -> None:
    by_kind = {d["kind"]: d for d in documents()}
    pod = by_kind["Deployment"]["spec"]["template"]["spec"]
    [container] = pod["containers"]
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert container["securityContext"]["allowPrivilegeEscalation"] is False
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert container["resources"]["requests"] and container["resources"]["limits"]
    assert pod["topologySpreadConstraints"]
    assert pod["terminationGracePeriodSeconds"] > 25
    selector = by_kind["Deployment"]["spec"]["selector"]["matchLabels"]
    job_labels = by_kind["Job"]["spec"]["template"]["metadata"]["labels"]
    assert not selector.items() <= job_labels.items()  # the migration pod is not a broker
    assert by_kind["Job"]["metadata"]["annotations"]["helm.sh/hook"] == "pre-install,pre-upgrade"
