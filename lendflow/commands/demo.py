"""`lendflow demo`: a whole customer journey over the real API, step by step, for anyone to watch.

Register → documents → onboarding active → simulate → apply → accept the offer → sign on the
simulator's signing page → disbursed by PIX → pay the first installment on its payment link, with
the Temporal UI link of each workflow and the loan's ledger balances at the end. `--failures` runs
two journeys that go wrong on purpose (the payout is refused for good; the signature expires) and
shows the compensations that ran. Exits non-zero as soon as a step does not turn out as expected.

The simulator's admin API plays the outside world: it fixes what the Federal Revenue and the bureau
answer for the demo's CPF, refuses the payout, expires the envelope.
"""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date
from typing import Annotated, Any, TypeVar
from urllib.parse import quote

import httpx
import typer

from integrations.cpf import cpf_check_digits, format_cpf, mask_cpf
from lendflow.settings import Settings
from workflows.contracts.onboarding import onboarding_workflow_id
from workflows.contracts.origination import loan_workflow_id
from workflows.contracts.servicing import servicing_workflow_id

T = TypeVar("T")
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(64))
PASSWORD = "demo-password-2026"
# The demo customer's postal address, which the contract (CCB) prints.
DEMO_ADDRESS = {
    "postal_code": "01310-100",
    "street": "Avenida Paulista",
    "number": "1578",
    "complement": "apartamento 42",
    "district": "Bela Vista",
    "city": "São Paulo",
    "state": "SP",
}


class DemoFailed(Exception):
    """A step did not turn out as the journey expects."""


@dataclass
class DemoLinks:
    api_url: str
    simulator_url: str
    temporal_ui_url: str
    namespace: str

    def workflow(self, workflow_id: str) -> str:
        return f"{self.temporal_ui_url}/namespaces/{self.namespace}/workflows/{quote(workflow_id)}"


def _new_cpf() -> str:
    while True:
        base = "".join(random.choice("0123456789") for _ in range(9))
        if not base.startswith("99") and len(set(base)) > 1:
            return base + cpf_check_digits(base)


async def _until(probe: Callable[[], Awaitable[T]], done: Callable[[T], bool], *, what: str, timeout: float) -> T:
    deadline = time.monotonic() + timeout
    while True:
        value = await probe()
        if done(value):
            return value
        if time.monotonic() > deadline:
            raise DemoFailed(f"{what}: not reached within {timeout:.0f}s (last: {str(value)[:300]})")
        await asyncio.sleep(0.3)


def _expect(response: httpx.Response, *statuses: int, what: str) -> dict[str, Any]:
    if response.status_code not in statuses:
        raise DemoFailed(f"{what}: HTTP {response.status_code} {response.text[:300]}")
    is_json = response.headers.get("content-type", "").startswith("application/json")
    return response.json() if response.content and is_json else {}


class Journey:
    def __init__(
        self, api: httpx.AsyncClient, simulator: httpx.AsyncClient, links: DemoLinks, say: Callable[[str], None]
    ):
        self.api = api
        self.simulator = simulator
        self.links = links
        self.say = say
        self.headers: dict[str, str] = {}

    async def get(self, path: str) -> dict[str, Any]:
        return _expect(await self.api.get(path, headers=self.headers), 200, what=f"GET {path}")

    async def onboard(self) -> str:
        cpf = _new_cpf()
        name = random.choice(["Ana", "Bruno", "Carla", "Diego"]) + " " + random.choice(["Souza", "Lima", "Alves"])
        birth = date(1985 + random.randrange(15), 1 + random.randrange(12), 1 + random.randrange(28))
        # The outside world: the Federal Revenue knows this person, the bureau scores them well.
        _expect(
            await self.simulator.put(
                f"/_admin/federal-revenue/cpf/{cpf}",
                json={"status": "regular", "name": name, "birth_date": birth.isoformat()},
            ),
            200,
            what="simulator: Federal Revenue answer",
        )
        _expect(
            await self.simulator.put(f"/_admin/credit-bureau/cpf/{cpf}", json={"score": 870, "negative_records": []}),
            200,
            what="simulator: bureau answer",
        )
        email = f"demo-{uuid.uuid4().hex[:10]}@example.com"
        registered = _expect(
            await self.api.post(
                "/v1/auth/register",
                json={
                    "name": name,
                    "email": email,
                    "password": PASSWORD,
                    "cpf": format_cpf(cpf),
                    "birth_date": birth.isoformat(),
                    "phone": "+5511912345678",
                    "monthly_income": "12000.00",
                    "address": DEMO_ADDRESS,
                },
            ),
            201,
            what="register",
        )
        customer_id = registered["customer_id"]
        token = _expect(
            await self.api.post("/v1/auth/token", json={"email": email, "password": PASSWORD}), 200, what="log in"
        )
        self.headers = {"Authorization": f"Bearer {token['access_token']}"}
        self.say(f"registered {name} (CPF {mask_cpf(cpf)}), customer {customer_id}")
        self.say(f"  onboarding workflow: {self.links.workflow(onboarding_workflow_id(customer_id))}")
        for kind in ("id_front", "id_back", "selfie"):
            _expect(
                await self.api.post(
                    "/v1/documents",
                    headers=self.headers,
                    data={"type": kind},
                    files={"file": (f"{kind}.png", PNG, "image/png")},
                ),
                202,
                what=f"upload {kind}",
            )
        self.say("uploaded ID front, ID back and selfie; waiting for the pipeline to validate them")
        me = await _until(
            lambda: self.get("/v1/me"), lambda b: b["status"] != "pending_onboarding", what="onboarding", timeout=90
        )
        if me["status"] != "active":
            raise DemoFailed(f"onboarding ended {me['status']}: {me.get('status_reason')}")
        self.say("onboarding finished: customer active")
        return cpf

    async def apply(self, amount: str = "8000.00", term: int = 12) -> tuple[str, dict[str, Any]]:
        simulation = _expect(
            await self.api.post(
                "/v1/loan-simulations",
                json={"amount": amount, "term_months": term, "monthly_rate_percent": "1.99", "amortization": "price"},
            ),
            200,
            what="simulate",
        )
        self.say(
            f"simulated R$ {amount} in {term}x at 1.99% a month: installment R$ {simulation['installments'][0]['payment']}, "
            f"CET {simulation['cet_monthly']}% a month / {simulation['cet_annual']}% a year"
        )
        applied = _expect(
            await self.api.post(
                "/v1/loans",
                headers={**self.headers, "Idempotency-Key": str(uuid.uuid4())},
                json={"amount": amount, "term_months": term, "amortization": "price"},
            ),
            202,
            what="apply",
        )
        application_id = applied["id"]
        self.say(f"applied: application {application_id}")
        self.say(f"  loan workflow: {self.links.workflow(loan_workflow_id(application_id))}")
        ready = await _until(
            lambda: self.get(f"/v1/loans/{application_id}"),
            lambda b: b["status"] not in ("submitted", "analyzing"),
            what="credit decision",
            timeout=90,
        )
        if ready["status"] != "offer_ready":
            raise DemoFailed(f"no offer: the application is {ready['status']} ({ready.get('reason')})")
        offer = ready["offer"]
        self.say(
            f"offer (band {offer['risk_band']}): {offer['term_months']}x R$ {offer['installments'][0]['payment']}, "
            f"released R$ {offer['amount_released']}, IOF R$ {offer['iof_total']}, total R$ {offer['total_payable']}"
        )
        _expect(
            await self.api.post(
                f"/v1/loans/{application_id}/accept", headers=self.headers, json={"offer_id": offer["offer_id"]}
            ),
            200,
            what="accept the offer",
        )
        self.say("offer accepted")
        return application_id, offer

    async def contract_sent(self, application_id: str) -> dict[str, Any]:
        sent = await _until(
            lambda: self.get(f"/v1/loans/{application_id}"),
            lambda b: b["status"] not in ("offer_ready", "offer_accepted"),
            what="contract",
            timeout=90,
        )
        if sent["status"] != "contract_sent" or not sent.get("signing_url"):
            raise DemoFailed(f"the contract was not sent: {sent['status']} ({sent.get('reason')})")
        self.say(f"CCB stored in the ECM and sent for signature: {sent['signing_url']}")
        return sent

    async def sign(self, signing_url: str) -> None:
        async with httpx.AsyncClient(timeout=30) as person:
            _expect(await person.get(signing_url), 200, what="open the signing page")
            response = await person.post(signing_url, data={"decision": "sign"})
            if response.status_code not in (200, 303):
                raise DemoFailed(f"signing: HTTP {response.status_code}")
        self.say("signed on the signing page")

    async def ended(self, application_id: str, *, timeout: float = 120) -> dict[str, Any]:
        return await _until(
            lambda: self.get(f"/v1/loans/{application_id}"),
            lambda b: b["status"] in ("disbursed", "declined", "expired", "cancelled", "failed"),
            what="the end of origination",
            timeout=timeout,
        )

    async def pay_first_installment(self, application_id: str) -> None:
        charge = await _until(
            lambda: self.get(f"/v1/loans/{application_id}/installments"),
            lambda b: bool(b["items"]) and bool(b["items"][0].get("charge")),
            what="the first installment's PIX charge",
            timeout=90,
        )
        first = charge["items"][0]
        self.say(f"  servicing workflow: {self.links.workflow(servicing_workflow_id(application_id))}")
        self.say(
            f"installment 1 due {first['due_date']}: R$ {first['charge']['amount']} by PIX, "
            f"BR Code {first['charge']['br_code'][:40]}..."
        )
        async with httpx.AsyncClient(timeout=30) as person:
            paid = await person.post(first["charge"]["payment_url"])
            if paid.status_code not in (200, 303):
                raise DemoFailed(f"paying the charge: HTTP {paid.status_code}")
        await _until(
            lambda: self.get(f"/v1/loans/{application_id}/installments"),
            lambda b: b["items"][0]["status"] == "paid",
            what="the payment to be recorded",
            timeout=90,
        )
        self.say("installment 1 paid")


def _compensations(loan: dict[str, Any]) -> list[str]:
    return [s["outcome"] for s in loan.get("steps", []) if s["step"] == "compensation"]


async def run_demo(settings: Settings, links: DemoLinks, *, failures: bool, say: Callable[[str], None]) -> None:
    async with (
        httpx.AsyncClient(base_url=links.api_url, timeout=30) as api,
        httpx.AsyncClient(base_url=links.simulator_url, timeout=30) as simulator,
    ):
        ready = await api.get("/health/ready")
        if ready.status_code != 200:
            raise DemoFailed(f"the stack is not ready: {ready.text[:300]}")
        say(f"[ok] stack ready: {links.api_url}")
        if failures:
            await _failure_journeys(api, simulator, links, say)
            return
        journey = Journey(api, simulator, links, lambda line: say(f"[ok] {line}"))
        await journey.onboard()
        application_id, _ = await journey.apply()
        sent = await journey.contract_sent(application_id)
        await journey.sign(sent["signing_url"])
        loan = await journey.ended(application_id)
        if loan["status"] != "disbursed":
            raise DemoFailed(f"origination ended {loan['status']}: {loan.get('reason')}")
        say(f"[ok] disbursed by PIX: R$ {loan['offer']['amount_released']}")
        await journey.pay_first_installment(application_id)
        await _print_ledger(settings, application_id, say)


async def _failure_journeys(
    api: httpx.AsyncClient, simulator: httpx.AsyncClient, links: DemoLinks, say: Callable[[str], None]
) -> None:
    say("[..] journey 1: the payout is refused for good")
    journey = Journey(api, simulator, links, lambda line: say(f"     {line}"))
    cpf = await journey.onboard()
    _expect(
        await simulator.put(f"/_admin/pix/keys/{cpf}", json={"outcome": "reject", "failure_reason": "conta encerrada"}),
        200,
        what="simulator: refuse payouts to the customer's key",
    )
    application_id, _ = await journey.apply()
    sent = await journey.contract_sent(application_id)
    await journey.sign(sent["signing_url"])
    loan = await journey.ended(application_id)
    if loan["status"] != "failed" or loan.get("failed_step") != "disbursement":
        raise DemoFailed(f"expected a failed disbursement, got {loan['status']} ({loan.get('reason')})")
    say(f"[ok] application failed at {loan['failed_step']}; compensations run: {', '.join(_compensations(loan))}")

    say("[..] journey 2: the signature expires")
    journey = Journey(api, simulator, links, lambda line: say(f"     {line}"))
    await journey.onboard()
    application_id, _ = await journey.apply()
    await journey.contract_sent(application_id)
    envelope_id = next(
        s["detail"] for s in (await journey.get(f"/v1/loans/{application_id}"))["steps"] if s["step"] == "contract"
    )
    _expect(await simulator.post(f"/_admin/esignature/envelopes/{envelope_id}/expire"), 200, what="expire the envelope")
    loan = await journey.ended(application_id)
    if loan["status"] != "expired":
        raise DemoFailed(f"expected an expired application, got {loan['status']} ({loan.get('reason')})")
    say(f"[ok] application expired ({loan.get('reason')}); compensations run: {', '.join(_compensations(loan))}")


async def _print_ledger(settings: Settings, application_id: str, say: Callable[[str], None]) -> None:
    from storage import ledger
    from storage.db import create_engine, create_session_maker

    engine = create_engine(settings.postgres)
    try:
        async with create_session_maker(engine)() as session:
            balances = await ledger.balances(session, uuid.UUID(application_id))
    finally:
        await engine.dispose()
    say("[ok] ledger balances of the loan (debit positive):")
    for account, balance in balances.items():
        say(f"       {account:<22} {balance:>12}")
    if sum(balances.values()) != 0:
        raise DemoFailed("the ledger does not balance")


def demo(
    failures: Annotated[
        bool, typer.Option("--failures", help="Journeys that fail on purpose, and their compensations.")
    ] = False,
    api_url: Annotated[str | None, typer.Option(help="The API (default from settings).")] = None,
    simulator_url: Annotated[str | None, typer.Option(help="The provider simulator (default from settings).")] = None,
) -> None:
    """Drive a whole journey over the real API and print each step (exit 1 if any step fails)."""
    from lendflow.settings import get_settings

    settings = get_settings()
    links = DemoLinks(
        api_url=api_url or f"http://{settings.api.host}:{settings.api.port}",
        simulator_url=simulator_url or f"http://{settings.simulator.host}:{settings.simulator.port}",
        temporal_ui_url=settings.temporal.ui_url,
        namespace=settings.temporal.namespace,
    )
    try:
        asyncio.run(run_demo(settings, links, failures=failures, say=typer.echo))
    except (DemoFailed, httpx.HTTPError) as exc:
        typer.secho(f"[failed] {exc}", fg="red", err=True)
        raise typer.Exit(1) from exc
    typer.secho("demo finished green", fg="green")
    typer.echo(
        "The workflows' payloads are encrypted (LGPD): to see them decoded in the Temporal UI, log in as an"
        f" operator at {settings.temporal.codec_endpoint}/session first."
    )
