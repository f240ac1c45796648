"""The Helm chart (infra/helm/lendflow), checked with the real tools for each environment's values.

- `helm lint --strict` and `helm template` (helm v3.22.0, built by infra/tools/helm.sh);
- every rendered manifest through kubeconform `-strict` against JSON schemas generated offline from
  Kubernetes 1.33's swagger.json and from Karpenter's and KEDA's CRDs (infra/tools/k8s-schemas.sh);
- checkov on the rendered chart, with no failed check and a reason for every skipped one;
- what the chart promises, read from the rendered objects (no simulator in production, probes and
  a locked-down securityContext on every container, KEDA never past a topic's partitions, ...);
- deliberately broken manifests and values, which these checks must catch.

The first run builds helm (minutes) and kubeconform and generates the schemas; later runs reuse them.
"""

from __future__ import annotations

import copy
import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import BaseModel

from lendflow import REPO_ROOT
from lendflow.settings import Settings
from pipeline.runner import STAGES

# The tool builds run in the first test's set-up: allow them the time a cold machine needs.
pytestmark = pytest.mark.timeout(1800)

CHART = REPO_ROOT / "infra" / "helm" / "lendflow"
TOOLS = REPO_ROOT / "infra" / "tools"
BIN = REPO_ROOT / ".run" / "bin"
SCHEMAS = REPO_ROOT / ".run" / "schemas"
KUBERNETES_VERSION = "1.33.13"
NAMESPACE = "lendflow"
RELEASE = "lendflow"
# What the release pipeline passes for production (the values file holds no digest, on purpose).
RELEASE_DIGESTS = [
    "--set", "image.digest=sha256:" + "a" * 64,
    "--set", "krakend.image.digest=sha256:" + "b" * 64,
]  # fmt: skip
ENVIRONMENTS = {
    "default": ["-f", str(CHART / "values.yaml")],
    "staging": ["-f", str(CHART / "values-staging.yaml")],
    "production": ["-f", str(CHART / "values-production.yaml"), *RELEASE_DIGESTS],
}
# Parts of the names of the settings that hold credentials.
SECRET_SETTINGS = ("DSN", "PASSWORD", "SECRET", "API_KEY", "SIGNING_KEY", "PAYLOAD_KEY", "REDIS__URL")
CONSUMING_STAGES = {"validation": "incoming", "trusted": "validated", "bridge": "trusted"}


def _run(args: list[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, capture_output=True, text=True, cwd=REPO_ROOT, **kwargs)


@pytest.fixture(scope="module")
def tools() -> None:
    """helm, kubeconform and the schemas, installed by the project's own scripts (cached in .run/)."""
    for script in ("helm.sh", "kubeconform.sh", "k8s-schemas.sh"):
        done = _run(["bash", str(TOOLS / script)], timeout=1700)
        assert done.returncode == 0, f"{script} failed:\n{done.stderr[-3000:]}"
        assert done.stdout == "", f"{script} printed on success: {done.stdout!r}"


def helm(*args: str) -> subprocess.CompletedProcess[str]:
    return _run([str(BIN / "helm"), *args], timeout=300)


def template(values: list[str]) -> subprocess.CompletedProcess[str]:
    return helm(
        "template", RELEASE, str(CHART), "--namespace", NAMESPACE, "--kube-version", KUBERNETES_VERSION, *values
    )


def render(values: list[str]) -> list[dict[str, Any]]:
    done = template(values)
    assert done.returncode == 0, done.stderr
    return [doc for doc in yaml.safe_load_all(done.stdout) if doc]


def kubeconform(path: Path) -> subprocess.CompletedProcess[str]:
    return _run(
        [
            str(BIN / "kubeconform"), "-strict", "-summary", "-output", "json",
            "-kubernetes-version", KUBERNETES_VERSION,
            "-schema-location", f"{SCHEMAS}/{{{{ .NormalizedKubernetesVersion }}}}-standalone{{{{ .StrictSuffix }}}}/{{{{ .ResourceKind }}}}{{{{ .KindSuffix }}}}.json",
            "-schema-location", f"{SCHEMAS}/crds/{{{{ .Group }}}}/{{{{ .ResourceKind }}}}_{{{{ .ResourceAPIVersion }}}}.json",
            str(path),
        ],
        timeout=120,
    )  # fmt: skip


def write_manifests(path: Path, docs: list[dict[str, Any]]) -> Path:
    path.write_text(yaml.safe_dump_all(docs, sort_keys=False))
    return path


@pytest.fixture(scope="module", params=list(ENVIRONMENTS))
def environment(request: pytest.FixtureRequest, tools: None) -> str:
    return request.param


@pytest.fixture(scope="module")
def rendered(environment: str) -> list[dict[str, Any]]:
    return render(ENVIRONMENTS[environment])


def of_kind(docs: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [doc for doc in docs if doc["kind"] == kind]


def named(docs: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    matches = [doc for doc in of_kind(docs, kind) if doc["metadata"]["name"] == name]
    assert len(matches) == 1, f"{kind} {name}: {len(matches)} found"
    return matches[0]


def pod_specs(docs: list[dict[str, Any]]) -> Iterator[tuple[str, dict[str, Any]]]:
    for doc in docs:
        if doc["kind"] in ("Deployment", "Job", "DaemonSet", "StatefulSet"):
            yield f"{doc['kind']}/{doc['metadata']['name']}", doc["spec"]["template"]["spec"]


def component(doc: dict[str, Any]) -> str:
    return doc["metadata"]["labels"].get("app.kubernetes.io/component", "")


# --- helm lint, kubeconform, checkov -------------------------------------------------------------


def test_helm_lint_strict_passes_for_each_environment(environment: str) -> None:
    done = helm("lint", "--strict", "--kube-version", KUBERNETES_VERSION, str(CHART), *ENVIRONMENTS[environment])
    assert done.returncode == 0, done.stdout + done.stderr
    assert "0 chart(s) failed" in done.stdout


def test_every_rendered_manifest_is_valid_against_the_strict_schemas(
    environment: str, rendered: list[dict[str, Any]], tmp_path: Path
) -> None:
    done = kubeconform(write_manifests(tmp_path / "chart.yaml", rendered))
    report = json.loads(done.stdout)
    assert done.returncode == 0, report["resources"]
    summary = report["summary"]
    # Every object was validated against a schema: none skipped for a missing one, CRDs included.
    assert summary == {"valid": len(rendered), "invalid": 0, "errors": 0, "skipped": 0}
    if environment != "default":
        assert {"NodePool", "EC2NodeClass", "ScaledObject", "TriggerAuthentication"} <= {
            doc["kind"] for doc in rendered
        }


def test_checkov_finds_no_failed_check_and_every_skip_says_why(rendered: list[dict[str, Any]], tmp_path: Path) -> None:
    checkov = _run(["bash", str(TOOLS / "checkov.sh")], timeout=1700)
    assert checkov.returncode == 0, checkov.stderr[-3000:]
    folder = tmp_path / "chart"
    folder.mkdir()
    write_manifests(folder / "rendered.yaml", rendered)
    done = _run(
        [checkov.stdout.strip(), "-d", str(folder), "--framework", "kubernetes", "-o", "json"],
        timeout=900,
    )
    report = json.loads(done.stdout)
    reports = report if isinstance(report, list) else [report]
    results = [r["results"] for r in reports]
    failed = [(c["check_id"], c["resource"]) for r in results for c in r["failed_checks"]]
    assert failed == [], failed
    assert sum(r["summary"]["failed"] for r in reports) == 0
    assert sum(r["summary"]["passed"] for r in reports) > 100
    for skipped in (c for r in results for c in r["skipped_checks"]):
        reason = skipped["check_result"].get("suppress_comment", "")
        assert len(reason.strip()) > 20, f"{skipped['check_id']} skipped without a reason"


# --- what the chart promises ---------------------------------------------------------------------


def test_the_simulator_runs_only_where_values_ask_and_never_in_production(tools: None) -> None:
    production = render(ENVIRONMENTS["production"])
    staging = render(ENVIRONMENTS["staging"])
    assert not [doc for doc in production if component(doc) == "simulator"]
    assert "simulator" in {component(doc) for doc in of_kind(staging, "Deployment")}
    config = named(production, "ConfigMap", f"{RELEASE}-config")["data"]
    assert not any("simulator" in value for value in config.values())
    # Production values asking for it are refused, by the schema and by the template.
    refused = template([*ENVIRONMENTS["production"], "--set", "simulator.enabled=true"])
    assert refused.returncode != 0
    refused = template([*ENVIRONMENTS["staging"], "--set", "environment=production", *RELEASE_DIGESTS,
                        "--set", "topologySpread.zoneWhenUnsatisfiable=DoNotSchedule"])  # fmt: skip
    assert refused.returncode != 0


def test_production_values_need_the_release_digests(tools: None) -> None:
    without = helm(
        "lint",
        "--strict",
        "--kube-version",
        KUBERNETES_VERSION,
        str(CHART),
        "-f",
        str(CHART / "values-production.yaml"),
    )
    assert without.returncode != 0
    deployments = of_kind(render(ENVIRONMENTS["production"]), "Deployment")
    assert all("@sha256:" in c["image"] for d in deployments for c in d["spec"]["template"]["spec"]["containers"])


def test_every_container_is_locked_down_and_probed(rendered: list[dict[str, Any]]) -> None:
    specs = [(name, spec) for name, spec in pod_specs(rendered) if name != f"DaemonSet/{RELEASE}-filebeat"]
    assert specs
    for name, spec in specs:
        pod = spec["securityContext"]
        assert pod["runAsNonRoot"] is True, name
        assert pod["seccompProfile"]["type"] == "RuntimeDefault", name
        assert spec["automountServiceAccountToken"] is False, name
        volumes = {v["name"]: v for v in spec.get("volumes", [])}
        for container in spec["containers"] + spec.get("initContainers", []):
            where = f"{name}/{container['name']}"
            security = container["securityContext"]
            assert security["runAsNonRoot"] is True, where
            assert security["readOnlyRootFilesystem"] is True, where
            assert security["allowPrivilegeEscalation"] is False, where
            assert security["capabilities"]["drop"] == ["ALL"], where
            assert "add" not in security["capabilities"], where
            assert {"cpu", "memory"} <= set(container["resources"]["requests"]), where
            assert "memory" in container["resources"]["limits"], where
            # Whatever it writes goes to an emptyDir (or a read-only ConfigMap), never the image.
            for mount in container.get("volumeMounts", []):
                volume = volumes[mount["name"]]
                assert "emptyDir" in volume or mount.get("readOnly"), where
            if name.startswith("Job/"):
                continue
            ports = {p["name"] for p in container["ports"]}
            for probe in ("livenessProbe", "readinessProbe"):
                assert container[probe]["httpGet"]["port"] in ports, where


def test_filebeat_alone_runs_as_root_and_only_to_read_the_nodes_logs(tools: None) -> None:
    docs = render(ENVIRONMENTS["production"])
    (daemonset,) = of_kind(docs, "DaemonSet")
    spec = daemonset["spec"]["template"]["spec"]
    (container,) = spec["containers"]
    security = container["securityContext"]
    assert security["runAsUser"] == 0
    assert security["readOnlyRootFilesystem"] is True and security["allowPrivilegeEscalation"] is False
    assert security["capabilities"] == {"drop": ["ALL"]} and security["privileged"] is False
    volumes = {v["name"]: v for v in spec["volumes"]}
    writable = {m["mountPath"] for m in container["volumeMounts"] if not m.get("readOnly")}
    assert writable == {"/usr/share/filebeat/data", "/tmp"}
    assert {
        volumes[m["name"]]["hostPath"]["path"] for m in container["volumeMounts"] if "hostPath" in volumes[m["name"]]
    } == {"/var/log/containers", "/var/log/pods", "/var/lib/lendflow-filebeat"}
    assert "exec" in container["livenessProbe"] and "exec" in container["readinessProbe"]
    (role,) = of_kind(docs, "ClusterRole")
    assert {verb for rule in role["rules"] for verb in rule["verbs"]} == {"get", "list", "watch"}
    config = yaml.safe_load(named(docs, "ConfigMap", f"{RELEASE}-filebeat")["data"]["filebeat.yml"])
    assert config == yaml.safe_load((REPO_ROOT / "infra" / "filebeat" / "filebeat.yml").read_text())
    assert {e["name"] for e in container["env"]} >= {"NODE_NAME", "LOGSTASH_HOSTS"}
    # Filebeat ships the lines of the pods labelled part-of=lendflow: every application pod is.
    for deployment in of_kind(docs, "Deployment"):
        assert deployment["spec"]["template"]["metadata"]["labels"]["app.kubernetes.io/part-of"] == "lendflow"


def test_the_application_processes_are_probed_on_their_health_endpoints(rendered: list[dict[str, Any]]) -> None:
    probed = 0
    for deployment in of_kind(rendered, "Deployment"):
        if component(deployment) in ("krakend", "simulator"):
            continue
        container = deployment["spec"]["template"]["spec"]["containers"][0]
        assert container["livenessProbe"]["httpGet"]["path"] == "/health/live"
        assert container["readinessProbe"]["httpGet"]["path"] == "/health/ready"
        probed += 1
    assert probed == 2 + len(STAGES)  # api, worker and every stage


def test_each_pipeline_stage_runs_on_its_own(rendered: list[dict[str, Any]]) -> None:
    for stage in STAGES:
        deployment = named(rendered, "Deployment", f"{RELEASE}-pipeline-{stage}")
        command = deployment["spec"]["template"]["spec"]["containers"][0]["command"]
        assert command[:2] == ["lendflow", "pipeline"] and command[-2:] == ["--stage", stage]
    housekeeping = named(rendered, "Deployment", f"{RELEASE}-pipeline-housekeeping")
    assert housekeeping["spec"]["replicas"] == 1
    assert housekeeping["spec"]["strategy"]["type"] == "Recreate"
    scaled = {doc["spec"]["scaleTargetRef"]["name"] for doc in of_kind(rendered, "ScaledObject")}
    assert f"{RELEASE}-pipeline-housekeeping" not in scaled


def test_keda_scales_the_stages_on_their_groups_lag_within_the_partitions(rendered: list[dict[str, Any]]) -> None:
    settings = Settings()
    config = named(rendered, "ConfigMap", f"{RELEASE}-config")["data"]
    partitions = json.loads(config["LENDFLOW_KAFKA__PARTITIONS_BY_TOPIC"])
    for stage, topic_key in CONSUMING_STAGES.items():
        scaled = named(rendered, "ScaledObject", f"{RELEASE}-pipeline-{stage}")
        (trigger,) = scaled["spec"]["triggers"]
        assert trigger["type"] == "kafka"
        meta = trigger["metadata"]
        # The group and topic the stage really consumes (the app's settings, as the ConfigMap sets them).
        assert meta["consumerGroup"] == getattr(settings.pipeline.groups, stage)
        assert meta["topic"] == getattr(settings.kafka.topics, topic_key)
        assert config[f"LENDFLOW_PIPELINE__GROUPS__{stage.upper()}"] == meta["consumerGroup"]
        assert scaled["spec"]["maxReplicaCount"] <= partitions[meta["topic"]]
        assert meta["allowIdleConsumers"] == "false"
        assert scaled["spec"]["scaleTargetRef"]["name"] == f"{RELEASE}-pipeline-{stage}"
        assert "replicas" not in named(rendered, "Deployment", f"{RELEASE}-pipeline-{stage}")["spec"]


def test_keda_scales_the_worker_on_the_temporal_task_queue_backlog(rendered: list[dict[str, Any]]) -> None:
    scaled = named(rendered, "ScaledObject", f"{RELEASE}-worker")
    (trigger,) = scaled["spec"]["triggers"]
    assert trigger["type"] == "temporal"
    assert trigger["metadata"]["taskQueue"] == Settings().temporal.task_queue == "lendflow"
    config = named(rendered, "ConfigMap", f"{RELEASE}-config")["data"]
    assert trigger["metadata"]["endpoint"] == config["LENDFLOW_TEMPORAL__ADDRESS"]
    assert trigger["metadata"]["namespace"] == config["LENDFLOW_TEMPORAL__NAMESPACE"]
    hpa = named(rendered, "HorizontalPodAutoscaler", f"{RELEASE}-api")
    assert hpa["spec"]["scaleTargetRef"]["name"] == f"{RELEASE}-api"


def test_a_stage_may_not_scale_past_its_topics_partitions(tools: None) -> None:
    refused = template([*ENVIRONMENTS["staging"], "--set", "pipeline.stages.trusted.autoscaling.maxReplicaCount=7"])
    assert refused.returncode != 0
    assert "exceeds the 6 partitions of lending.validated.v1" in refused.stderr


def _known_setting(path: list[str], model: type[BaseModel]) -> bool:
    field = model.model_fields.get(path[0])
    if field is None:
        return False
    if len(path) == 1:
        return True
    inner = field.annotation
    if isinstance(inner, type) and issubclass(inner, BaseModel):
        return _known_setting(path[1:], inner)
    return False


def test_the_configmap_sets_only_real_settings_and_no_secret(rendered: list[dict[str, Any]]) -> None:
    config = named(rendered, "ConfigMap", f"{RELEASE}-config")["data"]
    for name in config:
        assert name.startswith("LENDFLOW_")
        path = name.removeprefix("LENDFLOW_").lower().split("__")
        assert _known_setting(path, Settings), f"{name} is no setting of lendflow/settings.py"
        assert not any(word in name for word in SECRET_SETTINGS), f"{name} is a secret: it belongs in a Secret"
    assert not of_kind(rendered, "Secret"), "secrets come from existing Secrets, never from the chart"
    for _, spec in pod_specs(rendered):
        for container in spec["containers"]:
            for source in container.get("envFrom", []):
                assert "secretRef" in source or source["configMapRef"]["name"] == f"{RELEASE}-config"
            assert not [e for e in container.get("env", []) if any(w in e["name"] for w in SECRET_SETTINGS)]


def test_the_app_reads_the_configmap_as_its_settings(
    rendered: list[dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    config = named(rendered, "ConfigMap", f"{RELEASE}-config")["data"]
    for name, value in config.items():
        monkeypatch.setenv(name, value)
    # In a pod the Secret supplies the production keys; here the settings' development ones stand in.
    monkeypatch.setenv("LENDFLOW_ENVIRONMENT", "test")
    settings = Settings()
    assert settings.temporal.worker_health_port == 9110 and settings.temporal.worker_metrics_host == "0.0.0.0"
    assert settings.api.host == "0.0.0.0" and settings.api.trusted_proxies
    assert settings.kafka.partitions_for(settings.kafka.topics.incoming) >= 6
    assert settings.pipeline.metrics_host == "0.0.0.0"
    worker = named(rendered, "Deployment", f"{RELEASE}-worker")["spec"]["template"]["spec"]["containers"][0]
    assert {p["name"]: p["containerPort"] for p in worker["ports"]} == {
        "metrics": settings.temporal.worker_metrics_port,
        "health": settings.temporal.worker_health_port,
    }


def test_migrations_run_as_a_hook_before_install_and_upgrade(rendered: list[dict[str, Any]]) -> None:
    (job,) = of_kind(rendered, "Job")
    hooks = set(job["metadata"]["annotations"]["helm.sh/hook"].split(","))
    assert hooks == {"pre-install", "pre-upgrade"}
    assert job["spec"]["template"]["spec"]["containers"][0]["command"] == ["lendflow", "migrate"]
    # A hook runs before the chart's ConfigMap exists: the Job carries the same settings itself.
    config = named(rendered, "ConfigMap", f"{RELEASE}-config")["data"]
    env = {e["name"]: e["value"] for e in job["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert env == config
    for deployment in of_kind(rendered, "Deployment"):
        command = deployment["spec"]["template"]["spec"]["containers"][0]["command"]
        if command[0] == "lendflow" and command[1] in ("api", "worker", "pipeline"):
            assert "--skip-migrations" in command


def test_only_the_gateway_reaches_the_api_and_only_our_pods_reach_the_data_services(
    rendered: list[dict[str, Any]],
) -> None:
    policies = of_kind(rendered, "NetworkPolicy")
    deny = named(rendered, "NetworkPolicy", f"{RELEASE}-default-deny")["spec"]
    assert set(deny["policyTypes"]) == {"Ingress", "Egress"} and "ingress" not in deny and "egress" not in deny
    api = named(rendered, "NetworkPolicy", f"{RELEASE}-api")["spec"]
    (rule,) = api["ingress"]
    gateway = [peer for peer in rule["from"] if "podSelector" in peer]
    assert [peer["podSelector"]["matchLabels"]["app.kubernetes.io/component"] for peer in gateway] == ["krakend"]
    assert all("ipBlock" not in peer for peer in rule["from"])
    # No other policy lets anything in to the api's pods.
    for policy in policies:
        selector = policy["spec"]["podSelector"]
        if "Ingress" in policy["spec"]["policyTypes"] and policy["metadata"]["name"] != f"{RELEASE}-api":
            components = selector.get("matchLabels", {}).get("app.kubernetes.io/component")
            expressions = {e["key"]: e["values"] for e in selector.get("matchExpressions", [])}
            assert components != "api" and "api" not in expressions.get("app.kubernetes.io/component", []), policy
    data = named(rendered, "NetworkPolicy", f"{RELEASE}-data-services")["spec"]
    (expression,) = data["podSelector"]["matchExpressions"]
    assert set(expression["values"]) == {"api", "worker", "migrate", *(f"pipeline-{s}" for s in STAGES)}
    ports = {port["port"] for rule in data["egress"] for port in rule["ports"]}
    assert {5432, 6379, 7233} <= ports and ports & {9092, 9094, 9098}
    assert "krakend" not in expression["values"] and "simulator" not in expression["values"]


def test_krakend_sends_every_route_to_this_releases_api(rendered: list[dict[str, Any]]) -> None:
    if not [d for d in of_kind(rendered, "Deployment") if component(d) == "krakend"]:
        pytest.fail("KrakenD is not deployed")
    config = json.loads(named(rendered, "ConfigMap", f"{RELEASE}-krakend")["data"]["krakend.json"])
    api_url = f"http://{RELEASE}-api.{NAMESPACE}.svc.cluster.local:8000"
    backends = [backend for endpoint in config["endpoints"] for backend in endpoint["backend"]]
    assert backends and all(backend["host"] == [api_url] for backend in backends)
    source = json.loads((REPO_ROOT / "infra" / "krakend" / "krakend.json").read_text())
    assert len(config["endpoints"]) == len(source["endpoints"])
    assert "lendflow-api:8000" not in json.dumps(config).replace(
        f"{RELEASE}-api.{NAMESPACE}.svc.cluster.local:8000", ""
    )
    deployment = named(rendered, "Deployment", f"{RELEASE}-krakend")
    assert deployment["spec"]["template"]["spec"]["containers"][0]["ports"][0]["containerPort"] == config["port"]


def test_the_charts_copy_of_the_log_shipper_config_is_current() -> None:
    for name, original in (("filebeat.yml", "infra/filebeat/filebeat.yml"),):
        assert (CHART / "files" / name).read_text() == (REPO_ROOT / original).read_text(), (
            f"infra/helm/lendflow/files/{name} differs from {original}: copy it again"
        )


def test_the_charts_krakend_config_is_the_gateways_config() -> None:
    copy_in_chart = (CHART / "files" / "krakend.json").read_text()
    original = (REPO_ROOT / "infra" / "krakend" / "krakend.json").read_text()
    assert json.loads(copy_in_chart) == json.loads(original), (
        "infra/helm/lendflow/files/krakend.json differs from infra/krakend/krakend.json: copy it again"
    )


def test_the_alb_ingress_terminates_tls_and_points_at_krakend(tools: None) -> None:
    for environment in ("staging", "production"):
        docs = render(ENVIRONMENTS[environment])
        (ingress,) = of_kind(docs, "Ingress")
        notes = ingress["metadata"]["annotations"]
        assert ingress["spec"]["ingressClassName"] == "alb"
        assert notes["alb.ingress.kubernetes.io/certificate-arn"].startswith("arn:aws:acm:")
        assert notes["alb.ingress.kubernetes.io/listen-ports"] == '[{"HTTPS": 443}]'
        assert notes["alb.ingress.kubernetes.io/target-type"] == "ip"
        backends = {p["backend"]["service"]["name"] for r in ingress["spec"]["rules"] for p in r["http"]["paths"]}
        assert backends == {f"{RELEASE}-krakend"}


def test_karpenter_offers_spot_and_on_demand_nodes_within_limits(tools: None) -> None:
    docs = render(ENVIRONMENTS["production"])
    (pool,) = of_kind(docs, "NodePool")
    (node_class,) = of_kind(docs, "EC2NodeClass")
    spec = pool["spec"]
    reference = spec["template"]["spec"]["nodeClassRef"]
    assert (reference["kind"], reference["name"]) == ("EC2NodeClass", node_class["metadata"]["name"])
    capacity = next(r for r in spec["template"]["spec"]["requirements"] if r["key"] == "karpenter.sh/capacity-type")
    assert set(capacity["values"]) == {"spot", "on-demand"}
    assert spec["disruption"]["consolidationPolicy"] == "WhenEmptyOrUnderutilized"
    assert {"cpu", "memory"} <= set(spec["limits"])
    assert node_class["spec"]["metadataOptions"]["httpTokens"] == "required"
    assert all(device["ebs"]["encrypted"] for device in node_class["spec"]["blockDeviceMappings"])


def test_pods_spread_across_zones_and_keep_a_disruption_budget(rendered: list[dict[str, Any]]) -> None:
    budgets = {
        doc["spec"]["selector"]["matchLabels"]["app.kubernetes.io/component"]
        for doc in of_kind(rendered, "PodDisruptionBudget")
    }
    for deployment in of_kind(rendered, "Deployment"):
        spec = deployment["spec"]["template"]["spec"]
        keys = {c["topologyKey"] for c in spec["topologySpreadConstraints"]}
        assert "topology.kubernetes.io/zone" in keys, deployment["metadata"]["name"]
        if component(deployment) in (
            "api",
            "worker",
            "krakend",
            "pipeline-validation",
            "pipeline-trusted",
            "pipeline-bridge",
        ):
            assert component(deployment) in budgets


# --- what the checks must catch ------------------------------------------------------------------


def test_broken_manifests_are_caught_by_kubeconform(tools: None, tmp_path: Path) -> None:
    docs = render(ENVIRONMENTS["production"])
    api = copy.deepcopy(named(docs, "Deployment", f"{RELEASE}-api"))
    api["spec"]["replicas"] = "2"  # a string where replicas go
    worker = copy.deepcopy(named(docs, "Deployment", f"{RELEASE}-worker"))
    worker["spec"]["template"]["spec"]["containers"][0]["readinesProbe"] = {"httpGet": {"path": "/", "port": 1}}
    pool = copy.deepcopy(of_kind(docs, "NodePool")[0])
    del pool["spec"]["template"]["spec"]["nodeClassRef"]
    scaled = copy.deepcopy(named(docs, "ScaledObject", f"{RELEASE}-worker"))
    scaled["spec"]["maxReplicas"] = 3  # HPA's name for it, not KEDA's
    for broken in (api, worker, pool, scaled):
        done = kubeconform(write_manifests(tmp_path / f"{broken['kind']}-{broken['metadata']['name']}.yaml", [broken]))
        report = json.loads(done.stdout)
        assert done.returncode != 0, broken["kind"]
        assert report["summary"]["invalid"] == 1, report
    # The intact objects pass, so it is the breakage that was caught.
    intact = [named(docs, "Deployment", f"{RELEASE}-api"), of_kind(docs, "NodePool")[0]]
    assert kubeconform(write_manifests(tmp_path / "intact.yaml", intact)).returncode == 0


def test_wrong_values_fail_helm_lint(tools: None) -> None:
    for wrong in (
        ["--set", "api.replicas=two"],
        ["--set", "environment=prod"],
        ["--set-json", 'kafka.partitions={"lending.incoming.v1":0}'],
        ["--set", "karpenter.capacityTypes={spot,cheap}"],
        ["--set", "ingress.certificateArn=my-cert"],
    ):
        done = helm(
            "lint", "--strict", "--kube-version", KUBERNETES_VERSION, str(CHART), *ENVIRONMENTS["staging"], *wrong
        )
        assert done.returncode != 0, wrong
