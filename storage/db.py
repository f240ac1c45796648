"""The async SQLAlchemy engine and session maker, built from settings by whoever owns the process."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

from lendflow.settings import PostgresSettings


def create_engine(postgres: PostgresSettings, *, dsn: str | None = None) -> AsyncEngine:
    return create_async_engine(
        dsn or postgres.dsn.get_secret_value(),
        pool_size=postgres.pool_size,
        max_overflow=postgres.max_overflow,
        pool_pre_ping=True,
    )


def create_session_maker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)
