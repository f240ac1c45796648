"""Customers: registration and look-ups."""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Customer


async def by_email(session: AsyncSession, email: str) -> Customer | None:
    return await session.scalar(select(Customer).where(Customer.email == email))


async def by_id(session: AsyncSession, customer_id: uuid.UUID) -> Customer | None:
    return await session.get(Customer, customer_id)


async def taken(session: AsyncSession, *, cpf: str, email: str) -> bool:
    found = await session.scalar(select(Customer.id).where((Customer.cpf == cpf) | (Customer.email == email)).limit(1))
    return found is not None


def new_customer(
    *,
    name: str,
    email: str,
    password_hash: str,
    cpf: str,
    birth_date: date,
    phone: str,
    monthly_income: Decimal,
) -> Customer:
    return Customer(
        id=uuid.uuid4(),
        name=name,
        email=email,
        password_hash=password_hash,
        cpf=cpf,
        birth_date=birth_date,
        phone=phone,
        monthly_income=monthly_income,
        status="pending_onboarding",
    )
