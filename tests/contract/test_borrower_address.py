"""The borrower's postal address, from the customer's row in PostgreSQL to the contract's text; a
customer without one gets no contract but a typed, retryable refusal that names no personal data."""

from __future__ import annotations

import contextvars
import uuid
from datetime import date
from decimal import Decimal

import pytest
from contract_support import kernel_offer, pdf_text
from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.exceptions import ApplicationError

from activities.contract_document import (
    BORROWER_ADDRESS_MISSING,
    BorrowerAddressMissing,
    borrower_of,
    ccb_terms,
    render_ccb,
)
from domain.postal_address import PostalAddress
from lendflow.logging import mask_text
from lendflow.settings import LenderSettings
from storage.models import Customer
from storage.repositories import customers

PAULISTA = PostalAddress(
    postal_code="01310100",
    street="Avenida Paulista",
    number="1578",
    complement=None,
    district="Bela Vista",
    city="São Paulo",
    state="SP",
)


def a_customer(address: PostalAddress | None) -> Customer:
    suffix = uuid.uuid4().hex[:8]
    return customers.new_customer(
        name=f"Conceição Araújo {suffix}",
        email=f"conceicao.{suffix}@example.com",
        password_hash="x",
        cpf="52998224725",
        birth_date=date(1980, 5, 17),
        phone="+5511987654321",
        monthly_income=Decimal("9000.00"),
        address=address,
    )


def test_a_customer_without_an_address_gets_a_typed_retryable_refusal_naming_no_personal_data() -> None:
    customer = a_customer(None)
    with pytest.raises(BorrowerAddressMissing) as refused:
        contextvars.copy_context().run(borrower_of, customer)
    assert isinstance(refused.value, ApplicationError)
    assert refused.value.type == BORROWER_ADDRESS_MISSING
    assert not refused.value.non_retryable  # the customer may still add it; then ops retries the paused step
    assert customer.name not in str(refused.value) and customer.cpf not in str(refused.value)


def test_the_borrower_is_named_with_the_whole_address_and_it_is_masked_in_logs() -> None:
    def named() -> tuple[str | None, str]:
        party = borrower_of(a_customer(PAULISTA))
        return party.address, mask_text("contract for Avenida Paulista, 1578 in 01310-100")

    address, logged = contextvars.copy_context().run(named)
    assert address == "Avenida Paulista, 1578, Bela Vista, São Paulo/SP, CEP 01310-100"
    assert "Paulista" not in logged and "01310-100" not in logged


def test_cep_and_uf_are_checked_by_the_domain_type() -> None:
    with pytest.raises(ValueError):
        PostalAddress("0131010", "Avenida Paulista", "1578", "Bela Vista", "São Paulo", "SP")
    with pytest.raises(ValueError):
        PostalAddress("01310100", "Avenida Paulista", "1578", "Bela Vista", "São Paulo", "XX")


@pytest.mark.services
async def test_the_address_stored_in_postgresql_is_the_one_the_contract_prints(
    session_maker: async_sessionmaker[AsyncSession],
) -> None:
    stored = a_customer(PAULISTA)
    stored.cpf = f"{uuid.uuid4().int % 10**11:011d}"
    async with session_maker() as session, session.begin():
        session.add(stored)
    async with session_maker() as session:
        loaded = await customers.by_id(session, stored.id)
    assert loaded is not None and loaded.address == PAULISTA

    offer, _ = kernel_offer()
    text = " ".join(
        pdf_text(render_ccb(ccb_terms("5e1a7c2d-0000", offer, borrower_of(loaded), LenderSettings()))).split()
    )
    assert "Endereço do Emitente Avenida Paulista, 1578, Bela Vista, São Paulo/SP, CEP 01310-100" in text

    # A new address replaces the whole old one.
    moved = PostalAddress("80010000", "Rua XV de Novembro", "s/n", "Centro", "Curitiba", "PR", complement="sala 3")
    async with session_maker() as session, session.begin():
        await customers.set_address(session, stored.id, moved)
    async with session_maker() as session:
        again = await customers.by_id(session, stored.id)
    assert again is not None and again.address == moved


@pytest.mark.services
async def test_an_address_is_stored_whole_or_not_at_all(session_maker: async_sessionmaker[AsyncSession]) -> None:
    stored = a_customer(PAULISTA)
    stored.cpf = f"{uuid.uuid4().int % 10**11:011d}"
    async with session_maker() as session, session.begin():
        session.add(stored)
    with pytest.raises(IntegrityError):
        async with session_maker() as session, session.begin():
            await session.execute(update(Customer).where(Customer.id == stored.id).values(address_city=None))
    async with session_maker() as session, session.begin():
        await session.execute(
            update(Customer)
            .where(Customer.id == stored.id)
            .values(
                **{
                    f"address_{name}": None
                    for name in ("postal_code", "street", "number", "complement", "district", "city", "state")
                }
            )
        )
    async with session_maker() as session:
        cleared = await customers.by_id(session, stored.id)
    assert cleared is not None and cleared.address is None
    with pytest.raises(BorrowerAddressMissing):
        contextvars.copy_context().run(borrower_of, cleared)
