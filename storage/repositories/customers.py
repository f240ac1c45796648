"""Customers: registration, look-ups and the postal address."""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from domain.postal_address import PostalAddress
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
    address: PostalAddress | None,
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
        address=address,
        status="pending_onboarding",
    )


async def set_address(session: AsyncSession, customer_id: uuid.UUID, address: PostalAddress) -> Customer | None:
    """Replace the customer's postal address (in the caller's transaction); None if there is no such customer."""
    customer = await session.get(Customer, customer_id, with_for_update=True)
    if customer is not None:
        customer.address = address
    return customer
