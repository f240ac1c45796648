"""What a request handler may depend on: created once in `lifespan`, kept on app state.

Handlers take these through the `Annotated` aliases below, never by building clients themselves.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Annotated

import redis.asyncio as aioredis
from confluent_kafka.admin import AdminClient
from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from temporalio.client import Client

from lendflow.settings import Settings


@dataclass
class Resources:
    settings: Settings
    engine: AsyncEngine
    session_maker: async_sessionmaker[AsyncSession]
    redis: aioredis.Redis
    kafka_admin: AdminClient
    temporal: Client


def get_resources(request: Request) -> Resources:
    return request.app.state.resources


async def get_session(resources: Annotated[Resources, Depends(get_resources)]) -> AsyncIterator[AsyncSession]:
    async with resources.session_maker() as session:
        yield session


def get_settings_dep(request: Request) -> Settings:
    """The settings the app was created with (set by `create_app`, available without the lifespan)."""
    return request.app.state.settings


def get_temporal(resources: Annotated[Resources, Depends(get_resources)]) -> Client:
    return resources.temporal


ResourcesDep = Annotated[Resources, Depends(get_resources)]
SessionDep = Annotated[AsyncSession, Depends(get_session)]
SettingsDep = Annotated[Settings, Depends(get_settings_dep)]
TemporalClientDep = Annotated[Client, Depends(get_temporal)]
