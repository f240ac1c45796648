"""`lendflow`: the one entry point of every Lendflow process.

lendflow services up|down|status   the local stack (Temporal and its UI, Kafka, PostgreSQL, Redis)
lendflow migrate                   bring the database schema to the newest revision
lendflow api | worker | simulator  run one process in the foreground
lendflow run                       the whole stack and every process, until Ctrl-C
"""

from __future__ import annotations

import asyncio
import signal
import sys
from typing import Annotated

import typer

from lendflow.commands import ops
from lendflow.commands.app import app as customer_app
from lendflow.commands.chaos import chaos
from lendflow.commands.demo import demo
from lendflow.commands.pipeline import dlq_app, pipeline
from lendflow.commands.quote import quote
from lendflow.logging import configure_logging
from lendflow.settings import Settings, get_settings
from lendflow.supervisor import EXIT_OK, ChildSpec, Supervisor

app = typer.Typer(help="Lendflow loan origination engine.", no_args_is_help=True, add_completion=False)
services_app = typer.Typer(help="The local stack: Temporal and its UI, Kafka, PostgreSQL, Redis.", no_args_is_help=True)
app.add_typer(services_app, name="services")
app.command()(pipeline)
app.add_typer(dlq_app, name="dlq")
app.command("quote")(quote)
app.add_typer(ops.app, name="ops")
app.command("demo")(demo)
app.command("app")(customer_app)
app.command("chaos")(chaos)

ServiceNames = Annotated[
    list[str] | None,
    typer.Argument(help="Only these services (postgres, redis, kafka, temporal, temporal-ui).", show_default=False),
]


def _settings() -> Settings:
    settings = get_settings()
    configure_logging(settings)
    return settings


@services_app.command("up")
def services_up(only: ServiceNames = None) -> None:
    """Bring the services up (idempotent) and wait until each answers."""
    from lendflow.services import ServiceError
    from lendflow.services import services_up as up

    settings = _settings()
    try:
        started = up(settings, only)
    except ServiceError as exc:
        typer.secho(f"services up failed: {exc}", fg="red", err=True)
        raise typer.Exit(1) from exc
    typer.echo(f"services up; started now: {', '.join(started) or 'none (all were running)'}")


@services_app.command("down")
def services_down(only: ServiceNames = None) -> None:
    """Stop the services that `services up` started, and only those."""
    from lendflow.services import ServiceError
    from lendflow.services import services_down as down

    try:
        stopped = down(_settings(), only)
    except ServiceError as exc:
        typer.secho(f"services down failed: {exc}", fg="red", err=True)
        raise typer.Exit(1) from exc
    typer.echo(f"stopped: {', '.join(stopped) or 'nothing (none was started by lendflow)'}")


@services_app.command("status")
def services_status() -> None:
    """Say what runs where, and whether lendflow started it."""
    from lendflow.services import services_status as status

    rows = status(_settings())
    for row in rows:
        state = "running" if row.running else "stopped"
        owner = "started by lendflow" if row.managed else "external" if row.running else ""
        typer.echo(f"{row.name:<11} {state:<8} {row.address:<30} {owner}")
    if not all(row.running for row in rows):
        raise typer.Exit(3)


@app.command()
def migrate() -> None:
    """Bring the database schema to the newest revision."""
    from storage.migrate import upgrade_to_head

    _settings()
    upgrade_to_head()
    typer.echo("database schema at head")


@app.command()
def api(
    host: Annotated[str | None, typer.Option(help="Listen address (default from settings).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default from settings).")] = None,
    skip_migrations: Annotated[bool, typer.Option(help="Do not migrate before starting.")] = False,
) -> None:
    """Run the BFF (FastAPI) in the foreground."""
    import uvicorn

    from storage.migrate import upgrade_to_head

    settings = _settings()
    if not skip_migrations:
        upgrade_to_head()
    uvicorn.run(
        "api.main:app",
        host=host or settings.api.host,
        port=port or settings.api.port,
        log_config=None,
        access_log=False,
    )


@app.command()
def worker(
    skip_migrations: Annotated[bool, typer.Option(help="Do not migrate before starting.")] = False,
) -> None:
    """Run the Temporal worker in the foreground."""
    from storage.migrate import upgrade_to_head
    from workers.temporal_worker import run_worker

    settings = _settings()
    if not skip_migrations:
        upgrade_to_head()
    asyncio.run(run_worker(settings))


@app.command()
def simulator() -> None:
    """Run the provider simulator (Federal Revenue, bureau, ECM, eSignature, PIX) in the foreground."""
    from simulator.app import serve

    serve(_settings())


# The processes `lendflow run` supervises, each a `lendflow` sub-command.
RUN_PROCESSES: dict[str, list[str]] = {
    "simulator": ["simulator"],
    "api": ["api", "--skip-migrations"],
    "worker": ["worker", "--skip-migrations"],
    "pipeline": ["pipeline", "--skip-migrations"],
    "app": ["app"],
}


@app.command()
def run() -> None:
    """Bring up the services, migrate, and run every process until Ctrl-C; then stop what it started.

    A process that crashes is restarted with growing delays (see `lendflow.supervisor`); restarts are
    counted in `lendflow_process_restarts_total` in `.run/metrics/lendflow_run.prom`.
    """
    from lendflow.services import ServiceError
    from lendflow.services import services_down as down
    from lendflow.services import services_up as up
    from storage.migrate import upgrade_to_head

    settings = _settings()
    try:
        started_services = up(settings)
    except ServiceError as exc:
        typer.secho(f"services up failed: {exc}", fg="red", err=True)
        raise typer.Exit(1) from exc
    supervisor = Supervisor(
        [ChildSpec(name, [sys.executable, "-m", "lendflow", *args]) for name, args in RUN_PROCESSES.items()],
        metrics_path=settings.run_dir / "metrics" / "lendflow_run.prom",
    )
    # Ctrl-C during the migration stops the run too; the supervisor installs its own handlers after.
    signal.signal(signal.SIGINT, supervisor.stop)
    signal.signal(signal.SIGTERM, supervisor.stop)
    outcome = EXIT_OK
    try:
        upgrade_to_head()
        _print_guide(settings)
        outcome = supervisor.run()
    finally:
        if started_services:
            typer.echo(f"stopping services started by this run: {', '.join(started_services)}")
            down(settings, started_services)
    if outcome != EXIT_OK:
        typer.secho("a process kept crashing at start; everything was stopped", fg="red", err=True)
        raise typer.Exit(outcome)


def _print_guide(settings: Settings) -> None:
    api_url = f"http://{settings.api.host}:{settings.api.port}"
    typer.echo(
        "\n".join(
            [
                "",
                "Lendflow is up. Ctrl-C stops everything this command started.",
                f"  Customer app    http://{settings.api.app_host}:{settings.api.app_port}  (built on first run; see docs/mobile.md)",
                f"  API docs        {api_url}/docs",
                f"  Readiness       {api_url}/health/ready",
                f"  Temporal UI     {settings.temporal.ui_url}",
                f"  Ops log-in      {settings.temporal.codec_endpoint}/session  (decoded payloads in the Temporal UI;"
                " an operator: lendflow ops create-operator NAME)",
                f"  Simulator       http://{settings.simulator.host}:{settings.simulator.port}/docs",
                f"  Kafka           {settings.kafka.bootstrap_servers}",
                "",
            ]
        )
    )


def main() -> None:
    app()


if __name__ == "__main__":
    main()
