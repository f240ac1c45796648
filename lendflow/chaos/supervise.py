"""The chaos stack's processes under ``lendflow run``'s supervisor: ``python -m lendflow.chaos.supervise``.

The simulator, the API, ``--workers`` Temporal workers and ``--pipelines`` pipeline processes, each a
``lendflow`` sub-command, restarted by :class:`lendflow.supervisor.Supervisor` when it crashes.
Settings come from the environment (:func:`lendflow.chaos.stack.chaos_environment`); each worker
gets ports of its own for its metrics and probes, each pipeline its own instance id.
"""

from __future__ import annotations

import argparse
import sys

from lendflow.chaos.stack import _free_port
from lendflow.logging import configure_logging
from lendflow.settings import get_settings
from lendflow.supervisor import ChildSpec, RestartPolicy, Supervisor


def children(workers: int, pipelines: int) -> list[ChildSpec]:
    lendflow = [sys.executable, "-m", "lendflow"]
    specs = [
        ChildSpec("simulator", [*lendflow, "simulator"]),
        ChildSpec("api", [*lendflow, "api", "--skip-migrations"]),
    ]
    for n in range(1, workers + 1):
        env = [
            f"LENDFLOW_TEMPORAL__WORKER_METRICS_PORT={_free_port()}",
            f"LENDFLOW_TEMPORAL__WORKER_HEALTH_PORT={_free_port()}",
        ]
        specs.append(ChildSpec(f"worker-{n}", ["env", *env, *lendflow, "worker", "--skip-migrations"]))
    for n in range(1, pipelines + 1):
        env = [f"LENDFLOW_PIPELINE__INSTANCE_ID=chaos-pipeline-{n}"]
        specs.append(ChildSpec(f"pipeline-{n}", ["env", *env, *lendflow, "pipeline", "--skip-migrations"]))
    return specs


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--pipelines", type=int, default=1)
    args = parser.parse_args()
    settings = get_settings()
    configure_logging(settings)
    # Quick first restarts: the suite times recovery; the backoff still doubles on repeated crashes.
    policy = RestartPolicy(initial_delay=0.5, max_delay=10.0)
    supervisor = Supervisor(
        children(args.workers, args.pipelines),
        policy=policy,
        metrics_path=settings.run_dir / "metrics" / "lendflow_run.prom",
    )
    return supervisor.run()


if __name__ == "__main__":
    sys.exit(main())
