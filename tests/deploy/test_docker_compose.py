"""docker-compose.yml and the Dockerfile describe the same stack the project runs without Docker.

`docker compose config` needs the Compose plugin, which CI machines lack; these checks read the
files themselves so a broken dependency, a missing health check or a package left out of the image
fails the suite everywhere.
"""

from __future__ import annotations

import re
import tomllib

import yaml

from lendflow import REPO_ROOT
from lendflow.settings import Settings

COMPOSE = yaml.safe_load((REPO_ROOT / "docker-compose.yml").read_text())
SERVICES = COMPOSE["services"]
INFRASTRUCTURE = {"postgres", "redis", "kafka", "temporal"}
PROCESSES = {"api", "worker", "pipeline", "simulator"}


def test_the_whole_stack_is_in_compose() -> None:
    assert INFRASTRUCTURE | PROCESSES | {"temporal-ui", "prometheus", "grafana", "migrate"} <= set(SERVICES)


def test_every_infrastructure_service_has_a_health_check() -> None:
    for name in INFRASTRUCTURE:
        assert "test" in SERVICES[name]["healthcheck"], name


def test_every_dependency_names_an_existing_service_and_a_condition() -> None:
    for name, service in SERVICES.items():
        depends = service.get("depends_on", {})
        if isinstance(depends, list):
            depends = {d: {"condition": "service_started"} for d in depends}
        for dependency, rule in depends.items():
            assert dependency in SERVICES, f"{name} depends on unknown {dependency}"
            assert rule["condition"] in {"service_healthy", "service_started", "service_completed_successfully"}
            if rule["condition"] == "service_healthy":
                assert "healthcheck" in SERVICES[dependency], f"{dependency} has no health check"


def test_application_processes_run_lendflow_commands_from_one_image() -> None:
    images = {SERVICES[name]["image"] for name in PROCESSES | {"migrate"}}
    assert images == {"lendflow:local"}
    for name in PROCESSES:
        assert SERVICES[name]["command"][0] == "lendflow", name


def test_ports_are_published_on_loopback_only() -> None:
    for name, service in SERVICES.items():
        for port in service.get("ports", []):
            assert str(port).startswith("127.0.0.1:"), f"{name} publishes {port} beyond loopback"


def test_the_image_contains_every_package_the_project_installs() -> None:
    pyproject = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())
    packages = {p.rstrip("*") for p in pyproject["tool"]["setuptools"]["packages"]["find"]["include"]}
    copied = set(re.findall(r"^COPY (\w+) \./\1$", (REPO_ROOT / "Dockerfile").read_text(), re.MULTILINE))
    assert packages <= copied, f"missing from the image: {packages - copied}"


def test_the_temporal_ui_decodes_through_the_api_with_the_operators_cookie() -> None:
    ui = SERVICES["temporal-ui"]
    ui_port = ui["ports"][0].split(":")[1]
    api_port = SERVICES["api"]["ports"][0].split(":")[1]
    env = ui["environment"]
    # The browser calls the codec on the API's published port and sends the codec session cookie;
    # the API lets exactly that UI origin send credentials (CORS).
    assert env["TEMPORAL_CODEC_ENDPOINT"] == f"http://localhost:{api_port}/codec"
    assert env["TEMPORAL_CODEC_INCLUDE_CREDENTIALS"] == "true"
    assert env["TEMPORAL_CODEC_DEFAULT_ERROR_LINK"] == f"http://localhost:{api_port}/codec/session"
    assert SERVICES["api"]["environment"]["LENDFLOW_TEMPORAL__UI_URL"] == f"http://localhost:{ui_port}"
    # The same UI release as the local stack's, whose config template reads those variables.
    assert ui["image"] == f"temporalio/ui:{Settings().temporal.ui_server_version}"
