"""The whole journey on the real stack: onboarding → disbursement → first installment paid.

Everything runs for real and talks over real HTTP and Kafka: the API (uvicorn), the provider
simulator (uvicorn, sending signed webhooks to the API), the pipeline (intake → validation → trusted
→ bridge), the project's worker on the Temporal dev server, PostgreSQL and Redis. The test acts as
the customer: it registers, uploads documents, applies, accepts, signs on the simulator's signing
page and pays the first installment on its payment link.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from stack_support import ServerThread, eventually, journey_stack_settings, new_cpf, register_and_login
from temporalio.client import Client

from api.security import hash_password
from integrations.factory import ProviderClients
from integrations.pix import PixKeyDestination
from lendflow.commands.demo import PASSWORD, DemoLinks, Journey, run_demo
from lendflow.services import ensure_topics
from lendflow.settings import (
    Settings,
)
from pipeline.runner import run_pipeline
from simulator.app import create_app as create_simulator
from storage import ledger
from storage.models import JournalLine, OutboxEvent, PixCharge, SignatureEnvelope
from storage.repositories.operators import create_operator
from workers.temporal_worker import build_worker, project_activities
from workflows.contracts.servicing import servicing_workflow_id

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


@dataclass
class Stack:
    settings: Settings
    api: httpx.AsyncClient
    api_url: str
    simulator_url: str


@pytest.fixture
async def journey_stack(
    settings: Settings, temporal_client: Client, session_maker, tmp_path: Path
) -> AsyncIterator[Stack]:
    from api.main import create_app

    stack_settings, api_port, simulator_port = journey_stack_settings(settings, tmp_path, name="e2e")
    ensure_topics(stack_settings, suffix="")
    simulator = ServerThread(create_simulator(stack_settings), simulator_port)
    api = ServerThread(create_app(stack_settings), api_port)
    simulator.start()
    api.start()
    stop_pipeline = asyncio.Event()
    pipeline = asyncio.create_task(run_pipeline(stack_settings, stop=stop_pipeline))
    try:
        async with ProviderClients.from_settings(stack_settings) as providers:
            worker = build_worker(
                temporal_client, stack_settings.temporal.task_queue, project_activities(session_maker, providers)
            )
            async with worker, httpx.AsyncClient(base_url=api.url, timeout=30) as client:
                yield Stack(stack_settings, client, api.url, simulator.url)
    finally:
        stop_pipeline.set()
        await asyncio.wait_for(pipeline, timeout=30)
        api.stop()
        simulator.stop()


class CapturedLines(logging.Handler):
    """Every log line of the process, rendered by the project's own formatter (masking included)."""

    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        root = logging.getLogger()
        self.setFormatter(root.handlers[0].formatter if root.handlers else logging.Formatter())
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))

    def __enter__(self) -> CapturedLines:
        root = logging.getLogger()
        self._level = root.level
        root.setLevel(logging.DEBUG)
        root.addHandler(self)
        return self

    def __exit__(self, *exc: object) -> None:
        logging.getLogger().removeHandler(self)
        logging.getLogger().setLevel(self._level)


async def _status(api: httpx.AsyncClient, path: str, headers: dict[str, str]) -> dict:
    response = await api.get(path, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


async def test_a_customer_goes_from_registration_to_a_paid_first_installment(
    journey_stack: Stack, session_maker: async_sessionmaker[AsyncSession], temporal_client: Client
) -> None:
    stack = journey_stack
    logs = CapturedLines().__enter__()
    try:
        await _journey(stack, session_maker, temporal_client, logs)
    finally:
        logs.__exit__()


async def _journey(
    stack: Stack, session_maker: async_sessionmaker[AsyncSession], temporal_client: Client, logs: CapturedLines
) -> None:
    api = stack.api
    # A regular CPF with a band-A bureau score: approved without manual review.
    customer = await register_and_login(api, new_cpf(min_score=800))
    headers = customer.headers

    # Onboarding: the three documents go through the pipeline, validated, to the workflow.
    for kind in ("id_front", "id_back", "selfie"):
        uploaded = await api.post(
            "/v1/documents", headers=headers, data={"type": kind}, files={"file": (f"{kind}.png", PNG, "image/png")}
        )
        assert uploaded.status_code == 202, uploaded.text
    me = await eventually(
        lambda: _status(api, "/v1/me", headers), lambda body: body["status"] != "pending_onboarding", timeout=60
    )
    assert me["status"] == "active", me

    # Apply, get the offer, accept it.
    applied = await api.post(
        "/v1/loans",
        headers={**headers, "Idempotency-Key": str(uuid.uuid4())},
        json={"amount": "5000.00", "term_months": 12, "amortization": "price"},
    )
    assert applied.status_code == 202, applied.text
    application_id = applied.json()["id"]
    path = f"/v1/loans/{application_id}"
    ready = await eventually(lambda: _status(api, path, headers), lambda b: b["status"] == "offer_ready", timeout=60)
    offer = ready["offer"]
    accepted = await api.post(f"{path}/accept", headers=headers, json={"offer_id": offer["offer_id"]})
    assert accepted.status_code == 200, accepted.text

    # The contract goes out for signature; the customer signs on the simulator's page.
    sent = await eventually(lambda: _status(api, path, headers), lambda b: b["status"] == "contract_sent", timeout=60)
    signing_url = sent["signing_url"]
    assert signing_url and signing_url.startswith(stack.simulator_url)
    async with httpx.AsyncClient(timeout=30) as person:
        page = await person.get(signing_url)
        assert page.status_code == 200
        signed = await person.post(signing_url, data={"decision": "sign"})
        assert signed.status_code in (200, 303)

    # Signed event → pipeline → bridge → payout → settled webhook → pipeline → bridge → disbursed.
    disbursed = await eventually(
        lambda: _status(api, path, headers), lambda b: b["status"] in ("disbursed", "failed", "cancelled"), timeout=90
    )
    assert disbursed["status"] == "disbursed", disbursed
    servicing = temporal_client.get_workflow_handle(servicing_workflow_id(application_id))

    # Servicing issues the first charge; the customer pays it on its payment link.
    async def first_charge() -> PixCharge | None:
        async with session_maker() as session:
            return await session.scalar(
                select(PixCharge).where(
                    PixCharge.application_id == uuid.UUID(application_id), PixCharge.installment_number == 1
                )
            )

    charge = await eventually(first_charge, lambda c: c is not None, timeout=60)
    assert charge is not None
    first = offer["installments"][0]
    assert Decimal(str(charge.amount)) == Decimal(first["payment"])
    async with httpx.AsyncClient(timeout=30) as person:
        paid = await person.post(f"{stack.simulator_url}/pix/pay/{charge.txid}")
        assert paid.status_code in (200, 303), paid.text

    installments = await eventually(
        lambda: _status(api, f"{path}/installments", headers),
        lambda body: body["items"][0]["status"] == "paid",
        timeout=90,
    )
    assert [i["status"] for i in installments["items"][:2]] == ["paid", "open"]
    assert (await servicing.describe()).run_id  # servicing lives on (continued as new for installment 2)

    # The ledger: every entry balances, and the loan's balances follow from the offer and the payment.
    amount_financed = Decimal(offer["amount_financed"])
    amount_released = Decimal(offer["amount_released"])
    iof = Decimal(offer["iof_total"])
    first_payment = Decimal(first["payment"])
    first_interest = Decimal(first["interest"])
    async with session_maker() as session:
        balances = await ledger.balances(session, uuid.UUID(application_id))
        debits, credits = (
            await session.execute(select(func.sum(JournalLine.debit), func.sum(JournalLine.credit)))
        ).one()
    assert debits == credits
    assert balances[ledger.LOANS_RECEIVABLE] == amount_financed - (first_payment - first_interest)
    assert balances[ledger.PIX_SETTLEMENT] == first_payment - amount_released
    assert balances[ledger.INTEREST_INCOME] == -first_interest
    assert balances[ledger.IOF_PAYABLE] == -iof
    async with session_maker() as session:
        envelopes = (
            await session.scalars(
                select(SignatureEnvelope.status).where(SignatureEnvelope.application_id == uuid.UUID(application_id))
            )
        ).all()
    assert envelopes == ["signed"]  # the read model follows the envelope, not only the application

    # LGPD: the whole journey logged (debug included) and not one line shows the CPF unmasked.
    cpf = customer.cpf
    formatted = f"{cpf[:3]}.{cpf[3:6]}.{cpf[6:9]}-{cpf[9:]}"
    assert len(logs.lines) > 50
    leaks = [line for line in logs.lines if cpf in line or formatted in line]
    assert leaks == []
    assert any(customer.customer_id in line for line in logs.lines)  # the lines do name the customer
    masked = f"***.{cpf[3:6]}.{cpf[6:9]}-**"
    assert any(masked in line for line in logs.lines)  # the CPF did pass through the logs, masked


async def test_the_demo_runs_green_over_the_real_stack(journey_stack: Stack) -> None:
    """`lendflow demo`: every step of the journey, the workflow links and the ledger balances."""
    lines: list[str] = []
    links = DemoLinks(journey_stack.api_url, journey_stack.simulator_url, "http://127.0.0.1:8233", "default")
    await run_demo(journey_stack.settings, links, failures=False, say=lines.append)
    text = "\n".join(lines)
    assert "customer active" in text and "offer accepted" in text and "signed on the signing page" in text
    assert "disbursed by PIX" in text and "installment 1 paid" in text
    assert "http://127.0.0.1:8233/namespaces/default/workflows/loan-" in text
    assert "loans_receivable" in text


async def test_the_failure_demo_shows_the_compensations_that_ran(journey_stack: Stack) -> None:
    lines: list[str] = []
    links = DemoLinks(journey_stack.api_url, journey_stack.simulator_url, "http://127.0.0.1:8233", "default")
    await run_demo(journey_stack.settings, links, failures=True, say=lines.append)
    outcomes = [line for line in lines if line.startswith("[ok] application")]
    assert outcomes[0].startswith("[ok] application failed at disbursement")
    assert "reverse_ledger, release_limit" in outcomes[0]
    assert outcomes[1].startswith("[ok] application expired")
    assert "void_envelope, release_limit" in outcomes[1]


async def test_ops_pay_a_loan_to_the_customers_email_when_the_directory_does_not_know_the_cpf_key(
    journey_stack: Stack, session_maker: async_sessionmaker[AsyncSession]
) -> None:
    """The payout to the CPF key is refused (not in the DICT): the application waits, signed, for ops;
    a stranger's key is refused; the customer's own e-mail key is paid, once."""
    stack = journey_stack
    links = DemoLinks(stack.api_url, stack.simulator_url, "http://127.0.0.1:8233", "default")
    username = f"ops-{uuid.uuid4().hex[:10]}"
    await create_operator(session_maker, username, await hash_password(PASSWORD))
    login = await stack.api.post("/v1/ops/auth/token", json={"username": username, "password": PASSWORD})
    ops = {"Authorization": f"Bearer {login.json()['access_token']}"}
    async with httpx.AsyncClient(base_url=stack.simulator_url, timeout=30) as simulator:
        journey = Journey(stack.api, simulator, links, lambda line: None)
        cpf = await journey.onboard()
        unknown = await simulator.put(f"/_admin/pix/keys/{cpf}", json={"outcome": "not_found"})
        assert unknown.status_code == 200, unknown.text
        application_id, _ = await journey.apply()
        await journey.sign((await journey.contract_sent(application_id))["signing_url"])
        path = f"/v1/ops/applications/{application_id}"

        paused = await eventually(
            lambda: _status(stack.api, path, ops),
            lambda b: b.get("paused_step") == "disbursement" and b["status"] == "signed",
            timeout=90,
        )
        customer_view = await journey.get(f"/v1/loans/{application_id}")
        stranger = await stack.api.post(
            f"{path}/retry", json={"corrections": {"pix_key": "someone.else@example.com"}}, headers=ops
        )
        email = (await journey.get("/v1/me"))["email"]
        # The PIX provider is briefly down for the corrected payout: the activity is retried.
        down = await simulator.put("/_admin/faults/pix/create_payout", json={"fail_times": 2, "error_status": 503})
        assert down.status_code == 200, down.text
        retried = await stack.api.post(f"{path}/retry", json={"corrections": {"pix_key": email.upper()}}, headers=ops)
        loan = await journey.ended(application_id)
        await simulator.delete("/_admin/faults")
        end_to_end_id = next(
            s["detail"] for s in loan["steps"] if s["step"] == "disbursement" and s["outcome"] == "settled"
        )
        async with ProviderClients.from_settings(stack.settings) as providers:
            payout = await providers.pix.get_payout(end_to_end_id)
        audit = (await stack.api.get("/v1/ops/audit-log", params={"object_id": application_id}, headers=ops)).json()

    assert paused["status"] == "signed" and "PixKeyNotFound" in paused["reason"]
    # The customer is told that a step is delayed, in a sentence, and sees no provider error text.
    assert customer_view["reason"] == "in_progress_delayed" and customer_view["reason_message"]
    assert "PixKeyNotFound" not in str(customer_view) and "HTTP" not in str(customer_view)
    assert stranger.status_code == 422 and stranger.headers["content-type"] == "application/problem+json"
    assert stranger.json()["type"].endswith("/pix-key-not-the-customers")
    assert retried.status_code == 202, retried.text
    assert loan["status"] == "disbursed", loan
    assert payout.destination == PixKeyDestination(pix_key=email) and payout.status == "settled"
    assert payout.idempotency_key.startswith(f"{application_id}:payout:")  # its own, not the refused key's
    async with session_maker() as session:
        events = (
            await session.scalars(
                select(OutboxEvent.event_type).where(OutboxEvent.subject == application_id).order_by(OutboxEvent.id)
            )
        ).all()
    # One `disbursing` per payout request (the refused one and the corrected one), however often
    # the activity was retried; `signed` on signature and again, with the reason, at the pause.
    assert events.count("loan.disbursing") == 2, events
    assert events.count("loan.signed") == 2 and "loan.disbursed" in events, events
    assert [(e["outcome"], e["detail"].get("pix_key_kind")) for e in audit["items"][::-1]] == [
        ("refused:pix-key-not-the-customers", None),
        ("done", "email"),
    ]


async def test_a_payout_whose_answer_was_lost_is_asked_for_not_resent_at_a_psp_that_refuses_replays(
    journey_stack: Stack,
) -> None:
    """The PSP takes the payout and answers after our timeout, and it refuses a reused key: the next
    attempt asks for the payout by the EndToEndId we named, finds it, and the loan is disbursed once."""
    stack = journey_stack
    links = DemoLinks(stack.api_url, stack.simulator_url, "http://127.0.0.1:8233", "default")
    lost = stack.settings.providers.pix.timeout_seconds + 2
    async with httpx.AsyncClient(base_url=stack.simulator_url, timeout=30) as simulator:
        journey = Journey(stack.api, simulator, links, lambda line: None)
        await journey.onboard()
        application_id, _ = await journey.apply()
        fault = {"hang_seconds": lost, "after_processing": True, "refuse_replays": True}
        assert (await simulator.put("/_admin/faults/pix/create_payout", json=fault)).status_code == 200
        try:
            await journey.sign((await journey.contract_sent(application_id))["signing_url"])
            loan = await journey.ended(application_id)
        finally:
            await simulator.delete("/_admin/faults")
    assert loan["status"] == "disbursed", loan
    end_to_end_id = next(
        s["detail"] for s in loan["steps"] if s["step"] == "disbursement" and s["outcome"] == "settled"
    )
    async with ProviderClients.from_settings(stack.settings) as providers:
        payout = await providers.pix.get_payout(end_to_end_id)
    assert payout.idempotency_key == f"{application_id}:payout" and payout.status == "settled"
    # Exactly one payout was taken for the loan: the first (lost) request, asked for and found.
    async with httpx.AsyncClient(base_url=stack.simulator_url, timeout=30) as simulator:
        payouts = (await simulator.get("/_admin/pix/payouts", params={"external_reference": application_id})).json()
    assert [p["end_to_end_id"] for p in payouts] == [end_to_end_id]


async def test_a_declined_envelope_shows_declined_and_the_application_cancelled(
    journey_stack: Stack, session_maker: async_sessionmaker[AsyncSession]
) -> None:
    stack = journey_stack
    links = DemoLinks(stack.api_url, stack.simulator_url, "http://127.0.0.1:8233", "default")
    async with httpx.AsyncClient(base_url=stack.simulator_url, timeout=30) as simulator:
        journey = Journey(stack.api, simulator, links, lambda line: None)
        await journey.onboard()
        application_id, _ = await journey.apply()
        await journey.contract_sent(application_id)
        async with session_maker() as session:
            envelope_id = await session.scalar(
                select(SignatureEnvelope.envelope_id).where(
                    SignatureEnvelope.application_id == uuid.UUID(application_id)
                )
            )
        declined = await simulator.post(f"/_admin/esignature/envelopes/{envelope_id}/decline")
        assert declined.status_code == 200, declined.text
        loan = await journey.ended(application_id)
    async with session_maker() as session:
        envelope = await session.get(SignatureEnvelope, envelope_id)
        events = (
            await session.scalars(select(OutboxEvent.event_type).where(OutboxEvent.subject == application_id))
        ).all()
    assert loan["status"] == "cancelled", loan
    assert envelope is not None and envelope.status == "declined"  # not "voided", not still "sent"
    assert events.count("loan.envelope_declined") == 1, events
