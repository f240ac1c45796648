"""One chaos journey: the demo's customer, driven through the real API while something breaks.

The steps are the demo's (:mod:`lendflow.commands.demo`: the simulator told who the person is,
register, documents, onboarding active, apply, accept the offer, sign on the signing page, wait for
the PIX payout), with what a real client does when the service hiccups: a request that failed in
transit or got a 5xx/429 is sent again (the loan application with the same ``Idempotency-Key``), a
registration answered 409 after a retry is taken as done, and every wait lasts as long as the
scenario allows instead of the demo's minute and a half. What each journey reached is kept in
:class:`JourneyRecord` for the invariants.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import httpx

from integrations.cpf import format_cpf
from lendflow.commands.demo import PASSWORD, PNG, DemoFailed, DemoLinks, Journey, _new_cpf
from workflows.contracts.origination import TERMINAL_STATUSES

PHASES = ("started", "registered", "onboarded", "applied", "accepted", "contract_sent", "signed", "ended")
TERMINAL = {str(status) for status in TERMINAL_STATUSES}
RETRYABLE = {429, 500, 502, 503, 504}
ADDRESS = {
    "postal_code": "01310-100",
    "street": "Avenida Paulista",
    "number": "1578",
    "district": "Bela Vista",
    "city": "São Paulo",
    "state": "SP",
}


@dataclass
class JourneyRecord:
    index: int
    cpf: str = ""
    email: str = ""
    customer_id: str | None = None
    application_id: str | None = None
    idempotency_key: str = field(default_factory=lambda: str(uuid.uuid4()))
    phase: str = "started"
    status: str | None = None
    error: str | None = None
    ended_at: float | None = None
    retries: int = 0
    # Every application id the API answered for this journey's one Idempotency-Key.
    answered_ids: set[str] = field(default_factory=set)

    @property
    def terminal(self) -> bool:
        return self.status in TERMINAL


class Progress:
    """How many journeys reached each phase, for scenarios that strike at a given moment."""

    def __init__(self) -> None:
        self.counts: dict[str, int] = dict.fromkeys(PHASES, 0)
        self.changed = asyncio.Event()

    def reached(self, record: JourneyRecord, phase: str) -> None:
        record.phase = phase
        self.counts[phase] += 1
        self.changed.set()

    async def wait_for(self, phase: str, count: int, *, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while self.counts[phase] < count:
            self.changed.clear()
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.changed.wait(), timeout=min(remaining, 1.0))
        return True


class ChaosJourney:
    def __init__(
        self,
        record: JourneyRecord,
        api: httpx.AsyncClient,
        simulator: httpx.AsyncClient,
        links: DemoLinks,
        progress: Progress,
        *,
        deadline: float,
        poll_seconds: float = 1.0,
        with_address: bool = False,
        duplicate_submissions: int = 1,
    ) -> None:
        self.duplicate_submissions = duplicate_submissions
        self.with_address = with_address
        self.record = record
        self.api = api
        self.simulator = simulator
        self.progress = progress
        self.deadline = deadline
        self.poll_seconds = poll_seconds
        self.demo = Journey(api, simulator, links, lambda _line: None)

    # --- a patient client --------------------------------------------------------------------------

    async def _send(self, call: Callable[[], Awaitable[httpx.Response]], *, what: str) -> httpx.Response:
        """``call`` until it gets an answer that is not a transient failure (or the deadline passes)."""
        delay = 0.5
        while True:
            try:
                response = await call()
                if response.status_code not in RETRYABLE:
                    return response
                detail = f"HTTP {response.status_code}"
            except httpx.TransportError as exc:
                detail = type(exc).__name__
            if time.monotonic() > self.deadline:
                raise DemoFailed(f"{what}: still failing at the deadline ({detail})")
            self.record.retries += 1
            await asyncio.sleep(delay + random.random() * delay)
            delay = min(delay * 2, 5.0)

    async def _get(self, path: str) -> dict[str, Any]:
        response = await self._send(lambda: self.api.get(path, headers=self.demo.headers), what=f"GET {path}")
        if response.status_code != 200:
            raise DemoFailed(f"GET {path}: HTTP {response.status_code}")
        body: dict[str, Any] = response.json()
        return body

    async def _until(self, path: str, done: Callable[[dict[str, Any]], bool], *, what: str) -> dict[str, Any]:
        while True:
            body = await self._get(path)
            if done(body):
                return body
            if time.monotonic() > self.deadline:
                raise DemoFailed(f"{what}: not reached by the deadline (last: {str(body.get('status'))})")
            await asyncio.sleep(self.poll_seconds)

    # --- the journey -------------------------------------------------------------------------------

    async def run(self) -> JourneyRecord:
        record = self.record
        try:
            await self._onboard()
            await self._apply()
            await self._sign()
            loan = await self._until(
                f"/v1/loans/{record.application_id}", lambda b: b["status"] in TERMINAL, what="the end of origination"
            )
            record.status = loan["status"]
            record.ended_at = time.monotonic()
            self.progress.reached(record, "ended")
        except (DemoFailed, httpx.HTTPError, KeyError, ValueError) as exc:
            record.error = f"{record.phase}: {type(exc).__name__}: {exc}"[:300]
        return record

    async def _onboard(self) -> None:
        record = self.record
        record.cpf = _new_cpf()
        name = random.choice(["Ana", "Bruno", "Carla", "Diego"]) + " " + random.choice(["Souza", "Lima", "Alves"])
        birth = date(1985 + random.randrange(15), 1 + random.randrange(12), 1 + random.randrange(28))
        person = {"status": "regular", "name": name, "birth_date": birth.isoformat()}
        await self._send(
            lambda: self.simulator.put(f"/_admin/federal-revenue/cpf/{record.cpf}", json=person), what="simulator"
        )
        await self._send(
            lambda: self.simulator.put(
                f"/_admin/credit-bureau/cpf/{record.cpf}", json={"score": 870, "negative_records": []}
            ),
            what="simulator",
        )
        record.email = f"chaos-{uuid.uuid4().hex[:12]}@example.com"
        body: dict[str, Any] = {
            "name": name,
            "email": record.email,
            "password": PASSWORD,
            "cpf": format_cpf(record.cpf),
            "birth_date": birth.isoformat(),
            "phone": "+5511912345678",
            "monthly_income": "12000.00",
        }
        if self.with_address:
            body["address"] = ADDRESS
        retries = record.retries
        registered = await self._send(lambda: self.api.post("/v1/auth/register", json=body), what="register")
        if registered.status_code == 201:
            record.customer_id = registered.json()["customer_id"]
        elif not (registered.status_code == 409 and record.retries > retries):
            raise DemoFailed(f"register: HTTP {registered.status_code}")
        token = await self._send(
            lambda: self.api.post("/v1/auth/token", json={"email": record.email, "password": PASSWORD}), what="log in"
        )
        if token.status_code != 200:
            raise DemoFailed(f"log in: HTTP {token.status_code}")
        self.demo.headers = {"Authorization": f"Bearer {token.json()['access_token']}"}
        me = await self._get("/v1/me")
        record.customer_id = str(me.get("id") or me.get("customer_id") or record.customer_id)
        self.progress.reached(record, "registered")
        for kind in ("id_front", "id_back", "selfie"):
            uploaded = await self._send(
                lambda kind=kind: self.api.post(  # type: ignore[misc]
                    "/v1/documents",
                    headers=self.demo.headers,
                    data={"type": kind},
                    files={"file": (f"{kind}.png", PNG, "image/png")},
                ),
                what=f"upload {kind}",
            )
            if uploaded.status_code != 202:
                raise DemoFailed(f"upload {kind}: HTTP {uploaded.status_code}")
        me = await self._until("/v1/me", lambda b: b["status"] != "pending_onboarding", what="onboarding")
        if me["status"] != "active":
            record.status = f"onboarding_{me['status']}"
            raise DemoFailed(f"onboarding ended {me['status']}")
        self.progress.reached(record, "onboarded")

    async def _apply(self) -> None:
        record = self.record
        headers = {**self.demo.headers, "Idempotency-Key": record.idempotency_key}
        body = {"amount": "8000.00", "term_months": 12, "amortization": "price"}
        answers = await asyncio.gather(
            *(
                self._send(lambda: self.api.post("/v1/loans", headers=headers, json=body), what="apply")
                for _ in range(self.duplicate_submissions)
            )
        )
        for applied in answers:
            if applied.status_code not in (200, 201, 202):
                raise DemoFailed(f"apply: HTTP {applied.status_code}")
            record.answered_ids.add(applied.json()["id"])
        record.application_id = answers[0].json()["id"]
        self.progress.reached(record, "applied")
        path = f"/v1/loans/{record.application_id}"
        while True:
            loan = await self._until(path, lambda b: b["status"] not in ("submitted", "analyzing"), what="offer")
            if loan["status"] != "offer_ready":
                break
            offer_id = loan["offer"]["offer_id"]
            await self._send(
                lambda offer_id=offer_id: self.api.post(  # type: ignore[misc]
                    f"{path}/accept", headers=self.demo.headers, json={"offer_id": offer_id}
                ),
                what="accept",
            )
            await asyncio.sleep(self.poll_seconds)
        self.progress.reached(record, "accepted")

    async def _sign(self) -> None:
        record = self.record
        sent = await self._until(
            f"/v1/loans/{record.application_id}",
            lambda b: (
                b["status"] != "offer_accepted" and (b["status"] != "contract_sent" or bool(b.get("signing_url")))
            ),
            what="contract",
        )
        if sent["status"] != "contract_sent":
            return  # ended some other way; the caller waits for a terminal status
        self.progress.reached(record, "contract_sent")
        while True:
            try:
                await self.demo.sign(sent["signing_url"])
                break
            except (DemoFailed, httpx.TransportError):
                if time.monotonic() > self.deadline:
                    raise
                record.retries += 1
                await asyncio.sleep(1 + random.random())
                loan = await self._get(f"/v1/loans/{record.application_id}")
                if loan["status"] != "contract_sent":
                    break
        self.progress.reached(record, "signed")


async def drive(
    count: int,
    *,
    api_url: str,
    simulator_url: str,
    links: DemoLinks,
    progress: Progress,
    deadline: float,
    concurrency: int = 16,
    offset: int = 0,
    duplicate_submissions: int = 1,
) -> list[JourneyRecord]:
    """``count`` journeys, ``concurrency`` at a time, each given up at ``deadline`` (monotonic)."""
    gate = asyncio.Semaphore(concurrency)
    limits = httpx.Limits(max_connections=concurrency * 2 + 4)
    async with (
        httpx.AsyncClient(base_url=api_url, timeout=30, limits=limits) as api,
        httpx.AsyncClient(base_url=simulator_url, timeout=30, limits=limits) as simulator,
    ):
        # Registration asks for the postal address in newer API versions: send it when the API wants it.
        schema = (await api.get("/openapi.json")).json()
        register = schema.get("components", {}).get("schemas", {}).get("RegisterRequest", {})
        with_address = "address" in register.get("properties", {})

        async def one(index: int) -> JourneyRecord:
            record = JourneyRecord(index=index)
            async with gate:
                journey = ChaosJourney(
                    record,
                    api,
                    simulator,
                    links,
                    progress,
                    deadline=deadline,
                    with_address=with_address,
                    duplicate_submissions=duplicate_submissions,
                )
                return await journey.run()

        return list(await asyncio.gather(*(one(offset + i) for i in range(count))))
