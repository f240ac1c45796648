"""The customers' app, web build, in Debian's Chromium at phone size, against the real stack.

One browser session walks the whole journey as a person would: a customer whose CPF the Federal
Revenue refuses sees why; then a fresh customer signs up with a postal address (the CEP masked as
typed, a bad UF refused in the form), uploads three photos, becomes active,
simulates (the BFF goes away mid-way: the app shows its banner and carries on when it is back),
double-taps apply (one application), accepts the offer, signs on the simulator's signing page, sees
the money disbursed and installment 1 with its PIX code, which the simulator then pays as the bank
would; the app shows it paid. Last, the BFF revokes the session (a replayed refresh token) and the app
goes back to its log-in screen saying so. A screenshot of each screen is saved under `.run/e2e/mobile/`.

A second, short session: a customer registered before sign-up asked for the postal address (its
columns empty, as migration 0008 left them) logs in, is asked for the address on the loans screen,
adds it on the address screen, and `GET /v1/me` then has it.

The app is the same export `lendflow app` serves (built once per source hash); the test points it at
this test's API with `window.__LENDFLOW_API_URL__`, and the API lets the app's origin in (CORS).
"""

from __future__ import annotations

import asyncio
import json
import re
import struct
import uuid
import zlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import httpx
import pytest
from playwright.async_api import Browser, Locator, Page, async_playwright, expect
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from stack_support import PASSWORD, ServerThread, free_port, journey_stack_settings, new_cpf, register_and_login
from temporalio.client import Client

from integrations.factory import ProviderClients
from lendflow import REPO_ROOT
from lendflow.commands.app import MOBILE_DIR, ensure_web_export, web_app
from lendflow.services import ensure_topics
from lendflow.settings import (
    Settings,
)
from pipeline.runner import run_pipeline
from simulator.app import create_app as create_simulator
from storage.models import Customer, LoanApplication, PixCharge
from workers.temporal_worker import build_worker, project_activities

pytestmark = [pytest.mark.services, pytest.mark.timeout(1500)]

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip
PHONE = {"width": 390, "height": 844}
SHOTS = REPO_ROOT / ".run" / "e2e" / "mobile"
SLOW = 120_000  # ms: a step that waits on workflows, Kafka and the simulator


def _png(width: int = 32, height: int = 24, rgb: tuple[int, int, int] = (40, 90, 200)) -> bytes:
    """A small real PNG (what a phone's picker would hand over, only smaller)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    rows = b"".join(b"\x00" + bytes(rgb) * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


@dataclass
class AppStack:
    settings: Settings
    api_port: int
    api: ServerThread
    app_url: str
    simulator: httpx.AsyncClient

    def restart_api(self) -> None:
        from api.main import create_app

        self.api = ServerThread(create_app(self.settings), self.api_port)
        self.api.start()


@pytest.fixture
async def app_stack(
    settings: Settings, temporal_client: Client, session_maker: async_sessionmaker[AsyncSession], tmp_path: Path
) -> AsyncIterator[AppStack]:
    from api.main import create_app

    # The export `lendflow app` serves (its default BFF URL), built only when mobile/ changed.
    dist = await asyncio.to_thread(
        ensure_web_export, MOBILE_DIR, api_url=f"http://{settings.api.host}:{settings.api.port}", say=print
    )
    app_port = free_port()
    app_url = f"http://127.0.0.1:{app_port}"
    stack_settings, api_port, simulator_port = journey_stack_settings(
        settings, tmp_path, name="app", cors_origins=[app_url]
    )
    ensure_topics(stack_settings, suffix="")
    simulator = ServerThread(create_simulator(stack_settings), simulator_port)
    app_server = ServerThread(web_app(dist), app_port)
    simulator.start()
    app_server.start()
    stack = AppStack(stack_settings, api_port, ServerThread(create_app(stack_settings), api_port), app_url, None)  # type: ignore[arg-type]
    stack.api.start()
    stop_pipeline = asyncio.Event()
    pipeline = asyncio.create_task(run_pipeline(stack_settings, stop=stop_pipeline))
    try:
        async with ProviderClients.from_settings(stack_settings) as providers:
            worker = build_worker(
                temporal_client, stack_settings.temporal.task_queue, project_activities(session_maker, providers)
            )
            async with worker, httpx.AsyncClient(base_url=simulator.url, timeout=30) as admin:
                stack.simulator = admin
                yield stack
    finally:
        stop_pipeline.set()
        await asyncio.wait_for(pipeline, timeout=30)
        stack.api.stop()
        app_server.stop()
        simulator.stop()


def _tid(page: Page, test_id: str) -> Locator:
    """The visible element with this testID (a stack navigator keeps screens below the top one mounted)."""
    return page.locator(f'[data-testid="{test_id}"]:visible')


async def _shot(page: Page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


async def _person(stack: AppStack, *, cpf_status: str) -> dict[str, str]:
    """Someone the Federal Revenue knows (with this CPF status) and the bureau scores well."""
    cpf = new_cpf()
    name = f"Ana Teste {uuid.uuid4().hex[:4].upper()} Lima"
    birth = date(1988, 4, 17)
    fixed = await stack.simulator.put(
        f"/_admin/federal-revenue/cpf/{cpf}", json={"status": cpf_status, "name": name, "birth_date": birth.isoformat()}
    )
    assert fixed.status_code == 200, fixed.text
    scored = await stack.simulator.put(f"/_admin/credit-bureau/cpf/{cpf}", json={"score": 870, "negative_records": []})
    assert scored.status_code == 200, scored.text
    return {
        "cpf": cpf,
        "name": name,
        "birth": birth.strftime("%d%m%Y"),
        "email": f"app-{uuid.uuid4().hex[:12]}@example.com",
    }


async def _sign_up(page: Page, person: dict[str, str]) -> None:
    await expect(_tid(page, "signup-submit")).to_be_visible()
    await _tid(page, "signup-cpf").fill(person["cpf"])
    await _tid(page, "signup-name").fill(person["name"])
    await _tid(page, "signup-email").fill(person["email"])
    await _tid(page, "signup-phone").fill("11987654321")
    await _tid(page, "signup-birth-date").fill(person["birth"])
    await _tid(page, "signup-income").fill("12.000,00")
    await _tid(page, "signup-password").fill(PASSWORD)
    # The address the contract will name the customer with; the CEP's mask goes in as it is typed.
    await _tid(page, "signup-address-postal-code").fill("01310100")
    await expect(_tid(page, "signup-address-postal-code")).to_have_value("01310-100")
    await _tid(page, "signup-address-street").fill("Avenida Paulista")
    await _tid(page, "signup-address-number").fill("1578")
    await _tid(page, "signup-address-complement").fill("apartamento 42")
    await _tid(page, "signup-address-district").fill("Bela Vista")
    await _tid(page, "signup-address-city").fill("São Paulo")
    await _tid(page, "signup-address-state").fill("sp")
    await _tid(page, "signup-submit").click()
    await expect(_tid(page, "screen-onboarding")).to_be_visible(timeout=30_000)


async def phone_page(browser: Browser, api_url: str) -> Page:
    """A page of the app as a phone in pt-BR shows it, pointed at this test's BFF."""
    context = await browser.new_context(
        viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True, locale="pt-BR"
    )
    await context.add_init_script(f"window.__LENDFLOW_API_URL__ = {json.dumps(api_url)};")
    return await context.new_page()


async def test_a_customer_takes_a_loan_in_the_app_from_sign_up_to_a_paid_installment(
    app_stack: AppStack, session_maker: async_sessionmaker[AsyncSession], tmp_path: Path
) -> None:
    stack = app_stack
    photos = {}
    for kind, colour in (("id_front", (200, 40, 40)), ("id_back", (40, 160, 60)), ("selfie", (230, 190, 60))):
        photos[kind] = tmp_path / f"{kind}.png"
        photos[kind].write_bytes(_png(rgb=colour))

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = await phone_page(browser, stack.api.url)

            # --- Log-in screen, then sign-up with a CPF whose check digits are wrong: refused here ---
            await page.goto(stack.app_url)
            await expect(_tid(page, "login-submit")).to_be_visible(timeout=60_000)
            await _shot(page, "01-login")
            await _tid(page, "to-signup").click()
            await expect(_tid(page, "signup-submit")).to_be_visible()
            await _tid(page, "signup-cpf").fill("52998224724")
            await _tid(page, "signup-submit").click()
            await expect(_tid(page, "signup-cpf-error")).to_be_visible()
            await expect(_tid(page, "signup-cpf")).to_have_value("529.982.247-24")
            await _tid(page, "signup-address-state").fill("XX")
            await _tid(page, "signup-submit").click()
            await expect(_tid(page, "signup-address-state-error")).to_be_visible()
            await expect(_tid(page, "signup-address-postal-code-error")).to_be_visible()

            # --- A CPF the Federal Revenue has as suspended: onboarding says why ---
            refused = await _person(stack, cpf_status="suspended")
            await _sign_up(page, refused)
            await expect(_tid(page, "onboarding-reason")).to_have_attribute(
                "data-reason", "cpf_status_suspended", timeout=SLOW
            )
            await expect(_tid(page, "onboarding-status")).to_have_attribute("data-status", "rejected")
            await _shot(page, "02-onboarding-cpf-refused")
            await _tid(page, "logout").click()
            await expect(_tid(page, "login-submit")).to_be_visible()

            # --- A fresh customer: sign up, three photos, active ---
            person = await _person(stack, cpf_status="regular")
            await _tid(page, "to-signup").click()
            await _sign_up(page, person)
            await _shot(page, "03-signup-done-onboarding")
            for kind, path in photos.items():
                async with page.expect_file_chooser() as chooser:
                    await _tid(page, f"document-{kind}-pick").click()
                await (await chooser.value).set_files(str(path))
                # Sent: its button goes (the section itself goes once onboarding is over).
                await expect(_tid(page, f"document-{kind}-pick")).to_have_count(0, timeout=30_000)
            await _shot(page, "04-onboarding-documents-sent")
            await expect(_tid(page, "onboarding-status")).to_have_attribute("data-status", "active", timeout=SLOW)
            for kind in photos:
                await expect(_tid(page, f"document-{kind}")).to_have_count(0)
            await _shot(page, "05-onboarding-active")

            # --- Simulate; the BFF goes away and comes back ---
            await _tid(page, "onboarding-continue").click()
            await _tid(page, "simulate-amount").fill("8.000,00")
            await _tid(page, "simulate-term").fill("12")
            await expect(_tid(page, "simulation-installment")).to_be_visible(timeout=30_000)
            twelve = await _tid(page, "simulation-installment").inner_text()
            assert twelve.startswith("R$ ")
            await _shot(page, "06-simulate")

            stack.api.stop()
            await _tid(page, "simulate-term").fill("10")
            await expect(_tid(page, "offline-banner")).to_be_visible(timeout=30_000)
            await _shot(page, "07-offline-banner")
            stack.restart_api()
            await expect(_tid(page, "offline-banner")).to_be_hidden(timeout=30_000)
            await expect(_tid(page, "simulation-installment")).not_to_have_text(twelve, timeout=30_000)

            # --- Apply with a double tap: one application ---
            await _tid(page, "apply-submit").dblclick()
            await expect(_tid(page, "screen-loan")).to_be_visible(timeout=30_000)
            async with session_maker() as session:
                customer = await session.scalar(select(Customer).where(Customer.email == person["email"]))
                assert customer is not None
                customer_id = customer.id
                applications = await session.scalar(
                    select(func.count()).select_from(LoanApplication).where(LoanApplication.customer_id == customer_id)
                )
            assert applications == 1
            # The address typed in the app is the one stored, the CEP as its digits and the UF in capitals.
            assert customer.address is not None
            assert (customer.address.postal_code, customer.address.city, customer.address.state) == (
                "01310100",
                "São Paulo",
                "SP",
            )

            # --- The offer, accepted ---
            status = _tid(page, "loan-status")
            await expect(status).to_have_attribute("data-status", "offer_ready", timeout=SLOW)
            await expect(_tid(page, "offer-time-left")).to_be_visible()
            # The BFF sends rates in percent ("1.99"): shown as such, not multiplied again.
            await expect(_tid(page, "offer-rate")).to_have_text(re.compile(r"^\d{1,2},\d{2}% a\.m\.$"))
            await _shot(page, "08-offer")
            await _tid(page, "offer-accept").click()
            await expect(status).to_have_attribute("data-status", "contract_sent", timeout=SLOW)
            await _shot(page, "09-contract-sent")

            # --- Signing on the signing page, in a new tab ---
            async with page.context.expect_page() as signing_tab:
                await _tid(page, "sign-open").click()
            signing = await signing_tab.value
            await signing.wait_for_load_state()
            await _shot(signing, "10-signing-page")
            await signing.locator("#sign").click()
            await signing.wait_for_load_state()
            await signing.close()

            # --- Disbursed; installment 1 with its PIX code ---
            await expect(status).to_have_attribute("data-status", "disbursed", timeout=SLOW)
            await expect(_tid(page, "loan-released")).to_be_visible()
            await _shot(page, "11-disbursed")
            code = _tid(page, "installment-1-pix-code")
            await expect(code).to_be_visible(timeout=SLOW)
            br_code = (await code.inner_text()).strip()
            assert br_code.startswith("000201")
            await expect(_tid(page, "installment-1")).to_have_attribute("data-status", "open")
            await _shot(page, "12-installment-pix")

            # --- The bank pays it; the app shows it paid ---
            async with session_maker() as session:
                application_id = await session.scalar(
                    select(LoanApplication.id).where(LoanApplication.customer_id == customer_id)
                )
                txid = await session.scalar(
                    select(PixCharge.txid).where(
                        PixCharge.application_id == application_id, PixCharge.installment_number == 1
                    )
                )
            assert txid is not None
            paid = await stack.simulator.post(f"/_admin/pix/cob/{txid}/pay")
            assert paid.status_code == 200, paid.text
            await expect(_tid(page, "installment-1")).to_have_attribute("data-status", "paid", timeout=SLOW)
            await expect(_tid(page, "installment-1-pix-code")).to_have_count(0)
            await _shot(page, "13-installment-paid")

            # --- The BFF revokes the session (its refresh token replayed): the app ends it cleanly ---
            stolen = await page.evaluate("window.sessionStorage.getItem('lendflow.refresh_token')")
            assert stolen
            async with httpx.AsyncClient(base_url=stack.api.url, timeout=30) as thief:
                assert (await thief.post("/v1/auth/refresh", json={"refresh_token": stolen})).status_code == 200
                assert (await thief.post("/v1/auth/refresh", json={"refresh_token": stolen})).status_code == 401
            await expect(_tid(page, "session-ended")).to_be_visible(timeout=30_000)
            await expect(_tid(page, "login-submit")).to_be_visible()
            assert await page.evaluate("window.sessionStorage.getItem('lendflow.refresh_token')") is None
            await _shot(page, "14-session-ended")
        finally:
            await browser.close()


async def test_a_customer_registered_before_addresses_adds_theirs_in_the_app(
    app_stack: AppStack, session_maker: async_sessionmaker[AsyncSession]
) -> None:
    stack = app_stack
    async with httpx.AsyncClient(base_url=stack.api.url, timeout=30) as api:
        account = await register_and_login(api)
        # As migration 0008 left the customers registered before it: active, no address.
        async with session_maker() as session, session.begin():
            await session.execute(
                update(Customer)
                .where(Customer.id == uuid.UUID(account.customer_id))
                .values(
                    status="active",
                    address_postal_code=None,
                    address_street=None,
                    address_number=None,
                    address_complement=None,
                    address_district=None,
                    address_city=None,
                    address_state=None,
                )
            )
        before = await api.get("/v1/me", headers=account.headers)
        assert before.status_code == 200, before.text
        assert before.json()["address"] is None

        async with async_playwright() as playwright:
            browser = await playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
            try:
                page = await phone_page(browser, stack.api.url)
                await page.goto(stack.app_url)
                await expect(_tid(page, "login-submit")).to_be_visible(timeout=60_000)
                await _tid(page, "login-email").fill(account.email)
                await _tid(page, "login-password").fill(PASSWORD)
                await _tid(page, "login-submit").click()

                # --- The loans screen asks for the address before anything is simulated ---
                await expect(_tid(page, "screen-loans")).to_be_visible(timeout=30_000)
                await expect(_tid(page, "address-missing")).to_be_visible(timeout=30_000)
                await _shot(page, "20-loans-address-missing")
                await _tid(page, "address-missing-add").click()
                await expect(_tid(page, "screen-address")).to_be_visible()

                # --- The address screen: the form refuses a bad UF, then the BFF takes the address ---
                await _tid(page, "address-postal-code").fill("20040002")
                await expect(_tid(page, "address-postal-code")).to_have_value("20040-002")
                await _tid(page, "address-street").fill("Rua da Assembleia")
                await _tid(page, "address-number").fill("10")
                await _tid(page, "address-district").fill("Centro")
                await _tid(page, "address-city").fill("Rio de Janeiro")
                await _tid(page, "address-state").fill("XX")
                await _tid(page, "address-submit").click()
                await expect(_tid(page, "address-state-error")).to_be_visible()
                await _tid(page, "address-state").fill("rj")
                await _tid(page, "address-submit").click()
                await expect(_tid(page, "address-saved")).to_be_visible(timeout=30_000)
                await _shot(page, "21-address-saved")

                # --- Back on the loans screen the prompt is gone; the address can still be changed ---
                await _tid(page, "address-back").click()
                await expect(_tid(page, "address-edit")).to_be_visible(timeout=30_000)
                await expect(_tid(page, "address-missing")).to_have_count(0)
            finally:
                await browser.close()

        after = await api.get("/v1/me", headers=account.headers)
    assert after.status_code == 200, after.text
    address = after.json()["address"]
    assert address is not None
    assert (address["postal_code"], address["street"], address["city"], address["state"]) == (
        "20040-002",
        "Rua da Assembleia",
        "Rio de Janeiro",
        "RJ",
    )
    assert address["complement"] is None
