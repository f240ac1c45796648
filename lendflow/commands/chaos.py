"""`lendflow chaos`: the chaos suite (see :mod:`lendflow.chaos` and docs/chaos.md)."""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer


def chaos(
    scenario: Annotated[
        list[str] | None,
        typer.Option("--scenario", "-s", help="Run only this scenario (repeatable). Default: all, in order."),
    ] = None,
    journeys: Annotated[int, typer.Option("--journeys", "-n", min=1, help="Loan journeys per scenario.")] = 50,
    concurrency: Annotated[int, typer.Option(min=1, help="Journeys in flight at once.")] = 16,
    timeout: Annotated[float, typer.Option(help="Seconds a scenario's journeys get before they count as stuck.")] = 900,
    list_: Annotated[bool, typer.Option("--list", help="Print the scenarios and exit.")] = False,
) -> None:
    """Drive loan journeys on a stack of its own while one fault strikes per scenario; check the
    invariants and print the table (exit 1 when any fails)."""
    from lendflow.chaos.runner import run_chaos, table
    from lendflow.chaos.scenarios import SCENARIOS

    if list_:
        for s in SCENARIOS.values():
            typer.echo(f"{s.name:<24} {s.summary}")
        return
    names = scenario or list(SCENARIOS)
    try:
        results = asyncio.run(run_chaos(names, journeys, concurrency=concurrency, timeout=timeout, say=typer.echo))
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--scenario") from exc
    typer.echo("")
    typer.echo(table(results))
    if not all(r.ok for r in results):
        typer.secho("chaos: an invariant failed (see above)", fg="red", err=True)
        raise typer.Exit(1)
    typer.secho("chaos: every scenario green", fg="green")
