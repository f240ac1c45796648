"""`lendflow ops create-operator`: an operator of the ops API (role `ops`).

    lendflow ops create-operator ana.souza            # asks for the password twice
    LENDFLOW_OPS_PASSWORD=... lendflow ops create-operator ana.souza --password-from-env

Register in `lendflow.cli` with ``app.add_typer(ops.app, name="ops")``.
"""

from __future__ import annotations

import asyncio
import os
from typing import Annotated

import typer

app = typer.Typer(help="Operations staff of the ops API.", no_args_is_help=True)

PASSWORD_ENV = "LENDFLOW_OPS_PASSWORD"
MIN_PASSWORD_LENGTH = 12


@app.callback()
def ops() -> None:
    """Operations staff of the ops API."""


@app.command("create-operator")
def create_operator(
    username: Annotated[str, typer.Argument(help="The operator's log-in name (case-insensitive).")],
    password_from_env: Annotated[
        bool, typer.Option(help=f"Read the password from ${PASSWORD_ENV} instead of asking for it.")
    ] = False,
) -> None:
    """Create an operator who logs in at `POST /v1/ops/auth/token`."""
    from api.security import hash_password
    from lendflow.logging import configure_logging
    from lendflow.settings import get_settings
    from storage.db import create_engine, create_session_maker
    from storage.repositories.operators import OperatorExists
    from storage.repositories.operators import create_operator as create

    settings = get_settings()
    configure_logging(settings)
    if password_from_env:
        password = os.environ.get(PASSWORD_ENV, "")
    else:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    if len(password) < MIN_PASSWORD_LENGTH:
        typer.secho(f"the password needs at least {MIN_PASSWORD_LENGTH} characters", fg="red", err=True)
        raise typer.Exit(2)

    async def run() -> str:
        engine = create_engine(settings.postgres)
        try:
            operator = await create(create_session_maker(engine), username, await hash_password(password))
            return str(operator.id)
        finally:
            await engine.dispose()

    try:
        operator_id = asyncio.run(run())
    except OperatorExists as exc:
        typer.secho(f"an operator named {exc} already exists", fg="red", err=True)
        raise typer.Exit(1) from exc
    typer.echo(f"operator {username.strip().lower()} created ({operator_id})")
