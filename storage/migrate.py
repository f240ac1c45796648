"""Runs the Alembic migrations, from `lendflow migrate`, the API and worker start-up, and the tests."""

from __future__ import annotations

import asyncio
from pathlib import Path

from alembic import command
from alembic.config import Config

_MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def alembic_config(dsn: str | None = None) -> Config:
    config = Config(str(_MIGRATIONS / "alembic.ini"))
    config.set_main_option("script_location", str(_MIGRATIONS))
    if dsn:
        config.attributes["dsn"] = dsn
    return config


def upgrade_to_head(dsn: str | None = None) -> None:
    """Bring the schema to the newest revision. Safe to call from inside a running event loop."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        command.upgrade(alembic_config(dsn), "heads")
        return
    # env.py runs its own event loop; give it a thread of its own when we are called from async code.
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(command.upgrade, alembic_config(dsn), "heads").result()
