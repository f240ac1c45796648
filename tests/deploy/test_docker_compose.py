"""docker-compose.yml and the Dockerfile describe the same stack the project runs without Docker.

`docker compose config` runs on the file with and without the `logs` profile (the Compose v2 plugin
is built from the Go module proxy by infra/tools/compose.sh; the docker CLI must be on the machine,
no daemon is needed), and a broken file must fail it. The checks below also read the files
themselves, so a broken dependency, a missing health check or a package left out of the image fails
the suite in words that say which.
"""

from __future__ import annotations

import re
import subprocess
import tomllib
from pathlib import Path

import pytest
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


# --- docker compose config -------------------------------------------------------------------------

LOGS_PROFILE = {"elasticsearch", "logstash", "kibana", "kibana-setup", "filebeat"}


@pytest.fixture(scope="module")
def docker() -> str:
    installed = subprocess.run(
        ["bash", str(REPO_ROOT / "infra" / "tools" / "compose.sh")], capture_output=True, text=True, timeout=1700
    )
    assert installed.returncode == 0, installed.stderr[-3000:]
    return installed.stdout.strip().splitlines()[-1]


def _config(docker: str, compose_file: Path, *options: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [docker, "compose", "-f", str(compose_file), *options, "config", "--services"],
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        timeout=120,
    )


@pytest.mark.timeout(1800)
def test_docker_compose_config_accepts_the_stack_with_and_without_the_logs_profile(docker: str) -> None:
    plain = _config(docker, REPO_ROOT / "docker-compose.yml")
    assert plain.returncode == 0, plain.stderr
    with_logs = _config(docker, REPO_ROOT / "docker-compose.yml", "--profile", "logs")
    assert with_logs.returncode == 0, with_logs.stderr
    assert LOGS_PROFILE.isdisjoint(plain.stdout.split())
    assert set(with_logs.stdout.split()) == set(plain.stdout.split()) | LOGS_PROFILE


@pytest.mark.timeout(1800)
def test_docker_compose_config_refuses_a_broken_file(docker: str, tmp_path: Path) -> None:
    broken = dict(COMPOSE)
    broken["services"] = {
        **SERVICES,
        "api": {**SERVICES["api"], "depends_on": {"nowhere": {"condition": "service_started"}}},
    }
    compose_file = tmp_path / "docker-compose.yml"
    compose_file.write_text(yaml.safe_dump(broken))
    (tmp_path / "Dockerfile").write_text("FROM scratch\n")
    refused = _config(docker, compose_file)
    assert refused.returncode != 0
    assert "nowhere" in refused.stderr


def test_the_logs_profile_runs_the_pipeline_and_saved_objects_of_infra() -> None:
    for name in LOGS_PROFILE:
        assert SERVICES[name]["profiles"] == ["logs"], name
    mounts = {volume.split(":")[0] for volume in SERVICES["logstash"]["volumes"]}
    assert {"./infra/logstash/pipeline/lendflow.conf", "./infra/logstash/outputs/elasticsearch.conf"} <= mounts
    assert "./infra/logstash/pipelines.yml" in mounts
    for mount in mounts:
        assert (REPO_ROOT / mount).is_file(), mount
    pipelines = yaml.safe_load((REPO_ROOT / "infra" / "logstash" / "pipelines.yml").read_text())
    (pipeline,) = pipelines
    mounted_at = {volume.split(":")[1] for volume in SERVICES["logstash"]["volumes"]}
    glob = pipeline["path.config"]
    assert all(Path(target).match(glob) for target in mounted_at if target.endswith(".conf"))
    loader = SERVICES["kibana-setup"]
    assert loader["volumes"] == ["./infra/kibana:/objects:ro"]
    assert "file=@/objects/lendflow.ndjson" in loader["command"]
    assert (REPO_ROOT / "infra" / "kibana" / "lendflow.ndjson").is_file()
    assert loader["depends_on"]["kibana"]["condition"] == "service_healthy"
    assert SERVICES["filebeat"]["volumes"][0].startswith("./infra/filebeat/filebeat-docker.yml:")
    assert SERVICES["filebeat"]["depends_on"]["logstash"]["condition"] == "service_healthy"
