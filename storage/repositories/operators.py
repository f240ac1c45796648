"""Operators of the ops API."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage.models import Operator


class OperatorExists(Exception):
    """An operator with that username already exists."""


async def by_id(session: AsyncSession, operator_id: uuid.UUID) -> Operator | None:
    return await session.get(Operator, operator_id)


async def by_username(session: AsyncSession, username: str) -> Operator | None:
    return await session.scalar(select(Operator).where(Operator.username == username.strip().lower()))


async def create_operator(
    session_maker: async_sessionmaker[AsyncSession], username: str, password_hash: str, *, role: str = "ops"
) -> Operator:
    """Create an operator (username is case-insensitive); :class:`OperatorExists` when taken.

    The caller hashes the password (``api.security.hash_password``): storage never sees it in clear.
    """
    operator = Operator(username=username.strip().lower(), password_hash=password_hash, role=role)
    async with session_maker() as session:
        session.add(operator)
        try:
            await session.commit()
        except IntegrityError as exc:
            raise OperatorExists(operator.username) from exc
    return operator


async def ensure_operator(
    session_maker: async_sessionmaker[AsyncSession], username: str, password_hash: Callable[[], Awaitable[str]]
) -> bool:
    """Create the operator unless one with that username exists; True when it was created.

    ``password_hash`` is called only when the operator is created (hashing is slow on purpose).
    """
    async with session_maker() as session:
        if await by_username(session, username) is not None:
            return False
    try:
        await create_operator(session_maker, username, await password_hash())
    except OperatorExists:
        return False
    return True
