"""The Grafana dashboards load, and every metric they chart is one the processes really export."""

from __future__ import annotations

import json
import re
import urllib.request
import uuid
from decimal import Decimal

import pytest
import yaml
from prometheus_client import REGISTRY
from stack_support import free_port
from temporalio import workflow
from temporalio.worker import UnsandboxedWorkflowRunner, Worker

import pipeline.metrics  # noqa: F401  (registers the pipeline's metrics)
from activities.diagnostics import describe_worker
from api.metrics import ApiMetrics
from lendflow import REPO_ROOT
from lendflow.settings import Settings
from lendflow.temporal import connect
from workers.temporal_worker import metrics_runtime
from workflows import business_metrics
from workflows.diagnostics import WorkerPingInput, WorkerPingWorkflow


@workflow.defn
class CountsABusinessEvent:
    @workflow.run
    async def run(self) -> None:
        business_metrics.count(business_metrics.COMPENSATIONS, step="void_envelope")
        business_metrics.count(business_metrics.STEPS_PAUSED, step="disbursement")
        business_metrics.count_disbursed(Decimal("1234.56"))


DASHBOARDS = sorted((REPO_ROOT / "infra" / "grafana" / "dashboards").glob("*.json"))
PROMQL_WORDS = {"sum", "by", "rate", "increase", "histogram_quantile", "le", "without", "on", "ignoring"}


def _exported(samples_text: str) -> set[str]:
    return {line.split("{")[0].split(" ")[0] for line in samples_text.splitlines() if line and not line.startswith("#")}


@pytest.fixture(scope="module")
async def worker_metric_names(settings: Settings) -> set[str]:
    """What a real worker exports after running a workflow: the SDK's metric families."""
    port = free_port()
    temporal = settings.temporal.model_copy(update={"worker_metrics_port": port})
    client = await connect(temporal, runtime=metrics_runtime(settings.model_copy(update={"temporal": temporal})))
    task_queue = f"metrics-{uuid.uuid4()}"
    workflows = [WorkerPingWorkflow, CountsABusinessEvent]
    # This module imports urllib (to scrape), which the sandbox would refuse; the workflows are trivial.
    runner = UnsandboxedWorkflowRunner()
    async with Worker(
        client, task_queue=task_queue, workflows=workflows, activities=[describe_worker], workflow_runner=runner
    ):
        await client.execute_workflow(
            WorkerPingWorkflow.run, WorkerPingInput("metrics"), id=f"metrics-{uuid.uuid4()}", task_queue=task_queue
        )
        await client.execute_workflow(CountsABusinessEvent.run, id=f"metrics-{uuid.uuid4()}", task_queue=task_queue)
        body = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10).read().decode()
    return _exported(body)


def _known_metric_names(worker_names: set[str]) -> set[str]:
    names = set(worker_names) | set(business_metrics.ALL)
    suffixes = {"counter": ["_total"], "histogram": ["_bucket", "_sum", "_count"], "gauge": [""]}
    for family in [*ApiMetrics().registry.collect(), *REGISTRY.collect()]:
        names |= {family.name + suffix for suffix in suffixes.get(family.type, [""])}
    return names


def test_there_are_dashboards_for_the_funnel_the_pipeline_and_the_api() -> None:
    assert {d.stem for d in DASHBOARDS} >= {"funnel", "pipeline", "api"}


@pytest.mark.parametrize("path", DASHBOARDS, ids=lambda p: p.stem)
def test_a_dashboard_is_valid_grafana_json_with_panels_and_queries(path) -> None:  # type: ignore[no-untyped-def]
    dashboard = json.loads(path.read_text())
    assert dashboard["uid"] and dashboard["title"] and dashboard["schemaVersion"] >= 30
    ids = [panel["id"] for panel in dashboard["panels"]]
    assert len(ids) == len(set(ids)), "panel ids must be unique"
    for panel in dashboard["panels"]:
        assert panel["datasource"]["uid"] == "prometheus"
        assert panel["targets"] and all(t["expr"].strip() for t in panel["targets"])


async def test_every_charted_metric_is_exported(worker_metric_names: set[str]) -> None:
    known = _known_metric_names(worker_metric_names)
    for path in DASHBOARDS:
        for panel in json.loads(path.read_text())["panels"]:
            for target in panel["targets"]:
                expr = re.sub(r'\{[^}]*\}|"[^"]*"|\[[^\]]*\]', "", target["expr"])
                words = set(re.findall(r"[a-zA-Z_][a-zA-Z0-9_]*", expr)) - PROMQL_WORDS
                metrics = {w for w in words if w.startswith(("lendflow_", "temporal_"))}
                assert metrics, f"{path.stem}/{panel['title']}: no metric in {target['expr']}"
                assert metrics <= known, f"{path.stem}/{panel['title']}: unknown {metrics - known}"


def test_grafana_provisioning_points_at_the_dashboards_and_prometheus() -> None:
    provider = yaml.safe_load((REPO_ROOT / "infra/grafana/provisioning/dashboards/lendflow.yml").read_text())
    datasource = yaml.safe_load((REPO_ROOT / "infra/grafana/provisioning/datasources/prometheus.yml").read_text())
    compose = yaml.safe_load((REPO_ROOT / "docker-compose.yml").read_text())
    mounted = compose["services"]["grafana"]["volumes"]
    assert any(v.endswith(":" + provider["providers"][0]["options"]["path"] + ":ro") for v in mounted)
    assert datasource["datasources"][0]["uid"] == "prometheus"


async def test_the_workflows_business_counters_reach_the_worker_endpoint_by_name(worker_metric_names: set[str]) -> None:
    assert business_metrics.COMPENSATIONS in worker_metric_names
    assert business_metrics.STEPS_PAUSED in worker_metric_names
    assert business_metrics.DISBURSED_CENTAVOS in worker_metric_names
