"""deploy/: the compose stack, the Dockerfile and the systemd unit, checked without Docker."""

from __future__ import annotations

import configparser
import re
from dataclasses import fields
from typing import Any

import yaml
from deploy_support import DEPLOY, ROOT

from broker.config import Settings

SETTINGS = {f"BROKER_{f.name.upper()}" for f in fields(Settings)}


def compose() -> dict[str, Any]:
    result: dict[str, Any] = yaml.safe_load((DEPLOY / "docker-compose.yml").read_text())
    return result


def test_compose_runs_postgres_two_brokers_prometheus_and_grafana() -> None:
    services = compose()["services"]
    assert set(services) == {"postgres", "migrate", "broker-1", "broker-2", "prometheus", "grafana"}
    assert services["migrate"]["command"] == ["migrate"]
    assert services["migrate"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    for name in ("broker-1", "broker-2"):
        broker = services[name]
        assert broker["command"] == ["serve", "--no-migrate"]
        assert broker["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
        assert broker["read_only"] is True and broker["user"] == "10001:10001"
        assert broker["cap_drop"] == ["ALL"]
        assert set(broker["environment"]) <= SETTINGS
        assert broker["build"]["dockerfile"] == "deploy/Dockerfile"
    host_ports = [services[n]["ports"][0].split(":")[0] for n in ("broker-1", "broker-2")]
    assert len(set(host_ports)) == 2


def test_every_file_compose_mounts_exists() -> None:
    for service in compose()["services"].values():
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith("."):
                assert (DEPLOY / source).exists(), source


def test_the_dockerfile_is_multi_stage_non_root_and_checks_health() -> None:
    text = (DEPLOY / "Dockerfile").read_text()
    assert len(re.findall(r"^FROM ", text, re.M)) >= 2
    assert re.search(r"^USER 10001:10001$", text, re.M)
    assert re.search(r"^HEALTHCHECK .*\n?.*/healthz", text, re.M)
    assert "EXPOSE 9324" in text
    assert "PYTHONDONTWRITEBYTECODE=1" in text  # read-only root filesystem
    for copied in re.findall(r"^COPY (?!--from)(.+) \S+$", text, re.M):
        for path in copied.split():
            assert (ROOT / path).exists(), path
    ignore = (DEPLOY / "Dockerfile.dockerignore").read_text()
    assert "!broker/**" in ignore and "!migrations/**" in ignore


def test_the_systemd_unit_is_hardened_and_its_env_file_names_real_settings() -> None:
    unit = configparser.ConfigParser(strict=False, interpolation=None)
    unit.optionxform = str  # type: ignore[assignment,method-assign]
    unit.read_string((DEPLOY / "systemd" / "pgbroker.service").read_text())
    service = unit["Service"]
    assert service["User"] == "pgbroker"
    assert service["EnvironmentFile"] == "/etc/pgbroker/pgbroker.env"
    assert service["ExecStart"].endswith("broker serve --no-migrate")
    for option in ("NoNewPrivileges", "ProtectSystem", "ProtectHome", "PrivateTmp"):
        assert option in service, option
    assert int(service["TimeoutStopSec"]) > 25  # the drain
    assert unit["Install"]["WantedBy"] == "multi-user.target"
    env = (DEPLOY / "systemd" / "pgbroker.env").read_text()
    names = re.findall(r"^#?(BROKER_[A-Z_]+)=", env, re.M)
    assert names and set(names) <= SETTINGS
