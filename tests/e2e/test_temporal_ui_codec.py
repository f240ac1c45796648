"""The Temporal UI shows personal data in workflow payloads decoded to a logged-in operator, and to nobody else.

A real browser (Debian's Chromium, driven by Playwright) opens a workflow in the real Temporal UI
server (the one `lendflow services up` builds), which calls the API's codec endpoint from the browser
with the operator's codec session cookie. Before the operator logs in, and after they log out, the
page shows only ciphertext and the banner that points to the log-in page.
"""

from __future__ import annotations

import base64
import subprocess
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest
from playwright.async_api import Browser, Locator, Page, async_playwright, expect
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from stack_support import PASSWORD, ServerThread, free_port
from temporalio import workflow
from temporalio.client import Client, WorkflowFailureError, WorkflowHandle
from temporalio.exceptions import ApplicationError
from temporalio.worker import Worker

from api.security import hash_password
from lendflow.codec import ENCODING
from lendflow.services import port_open, ui_server_binary, ui_server_command, wait_until, write_ui_config
from lendflow.settings import Settings
from storage.repositories.operators import create_operator
from workflows.contracts.onboarding import OnboardingInput
from workflows.onboarding import OnboardingWorkflow

CHROMIUM = Path("/usr/bin/chromium")
# Headless on a closed network: no background fetches to Google, no sandbox as root.
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip
SECRET_NAME = "Maria Sigilosa da Silva"
FAILURE_TYPE = "SignerRefused"


@workflow.defn(name="TestUiCodecFailingWorkflow", sandboxed=False)
class FailingWorkflow:
    """Fails with the customer's name in its message, as a provider's error text could."""

    @workflow.run
    async def run(self, name: str) -> None:
        raise ApplicationError(f"signer {name} refused the envelope", type=FAILURE_TYPE, non_retryable=True)


@dataclass
class UiStack:
    api_url: str
    ui_url: str
    operator: str
    workflow: WorkflowHandle
    failed_workflow_id: str

    @property
    def workflow_page(self) -> str:
        return f"{self.ui_url}/namespaces/default/workflows/{self.workflow.id}"

    @property
    def failed_workflow_page(self) -> str:
        return f"{self.ui_url}/namespaces/default/workflows/{self.failed_workflow_id}"


@pytest.fixture
async def ui_stack(
    settings: Settings, temporal_client: Client, session_maker: async_sessionmaker[AsyncSession], tmp_path: Path
) -> AsyncIterator[UiStack]:
    from api.main import create_app

    api_port, ui_port = free_port(), free_port()
    api_url, ui_url = f"http://127.0.0.1:{api_port}", f"http://127.0.0.1:{ui_port}"
    run = uuid.uuid4().hex[:10]
    api_settings = settings.model_copy(
        update={
            "temporal": settings.temporal.model_copy(update={"ui_url": ui_url, "codec_endpoint": f"{api_url}/codec"}),
            "auth": settings.auth.model_copy(update={"redis_key_prefix": f"ui-{run}:auth"}),
        }
    )
    operator = f"ops-{run}"
    await create_operator(session_maker, operator, await hash_password(PASSWORD))
    write_ui_config(
        tmp_path / "config",
        temporal_address=settings.temporal.address,
        host="127.0.0.1",
        port=ui_port,
        namespace=settings.temporal.namespace,
        codec_endpoint=f"{api_url}/codec",
    )
    with open(tmp_path / "ui.log", "wb") as log:
        ui = subprocess.Popen(ui_server_command(ui_server_binary(settings), tmp_path), stdout=log, stderr=log)
    api = ServerThread(create_app(api_settings), api_port)
    api.start()
    # Nobody polls this task queue: the workflow just sits there with its encrypted input.
    workflow = await temporal_client.start_workflow(
        OnboardingWorkflow.run,
        OnboardingInput(customer_id=str(uuid.uuid4()), declared_name=SECRET_NAME, declared_birth_date=date(1988, 3, 4)),
        id=f"ui-codec-{run}",
        task_queue=f"ui-codec-{run}",
    )
    # A workflow that failed: its failure message sits in the history, encrypted.
    failed_workflow_id = f"ui-codec-failed-{run}"
    async with Worker(temporal_client, task_queue=f"ui-codec-failing-{run}", workflows=[FailingWorkflow]):
        with pytest.raises(WorkflowFailureError):
            await temporal_client.execute_workflow(
                FailingWorkflow.run, SECRET_NAME, id=failed_workflow_id, task_queue=f"ui-codec-failing-{run}"
            )
    try:
        wait_until(
            lambda: port_open("127.0.0.1", ui_port), timeout=30, what="Temporal UI", log_file=tmp_path / "ui.log"
        )
        yield UiStack(
            api_url=api_url, ui_url=ui_url, operator=operator, workflow=workflow, failed_workflow_id=failed_workflow_id
        )
    finally:
        await workflow.terminate("test over")
        api.stop()
        ui.terminate()
        ui.wait(timeout=10)


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    assert CHROMIUM.exists(), "Debian's chromium is needed for the browser tests: `make test` installs it"
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        await browser.close()


@pytest.mark.timeout(180)
async def test_the_ui_shows_payloads_decoded_only_to_a_logged_in_operator(ui_stack: UiStack, browser: Browser) -> None:
    context = await browser.new_context()
    page = await context.new_page()
    codec_calls: list[int] = []
    page.on("response", lambda r: codec_calls.append(r.status) if "/codec/decode" in r.url else None)

    # Nobody logged in: the browser's decode call is refused, the page shows ciphertext and the
    # banner points the operator to the log-in page.
    await page.goto(ui_stack.workflow_page)
    banner = page.get_by_text("Payloads are encrypted (LGPD)")
    await expect(banner).to_be_visible(timeout=30_000)
    assert await page.locator(f"a[href='{ui_stack.api_url}/codec/session']").count() >= 1
    await expect(page.get_by_text("customer_id")).to_have_count(0)
    assert SECRET_NAME not in await page.content()
    assert 401 in codec_calls

    # The operator logs in on the API's page and is sent to the UI, which now decodes.
    await page.goto(f"{ui_stack.api_url}/codec/session")
    await page.fill("input[name=username]", ui_stack.operator)
    await page.fill("input[name=password]", PASSWORD)
    await page.click("button[type=submit]")
    await page.wait_for_url(f"{ui_stack.ui_url}/**", timeout=20_000)
    codec_calls.clear()
    await page.goto(ui_stack.workflow_page)
    await expect(page.get_by_text(SECRET_NAME).first).to_be_visible(timeout=30_000)
    await expect(page.get_by_text('"declared_birth_date"').first).to_be_visible()
    assert 200 in codec_calls and 401 not in codec_calls
    cookie = next(c for c in await context.cookies() if c["name"] == "lendflow_ops_codec")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict" and cookie["path"] == "/codec"

    # Log out: the session ends and the UI shows ciphertext again.
    await page.goto(f"{ui_stack.api_url}/codec/session")
    await page.click("#logout")
    await expect(page.locator("#status")).to_contain_text("Logged out")
    await page.goto(ui_stack.workflow_page)
    await expect(page.get_by_text("Payloads are encrypted (LGPD)")).to_be_visible(timeout=30_000)
    assert SECRET_NAME not in await page.content()

    # A second browser that never logged in sees ciphertext, whatever the first one did.
    stranger_context = await browser.new_context()
    stranger = await stranger_context.new_page()
    await stranger.goto(ui_stack.workflow_page)
    await expect(stranger.get_by_text("Payloads are encrypted (LGPD)")).to_be_visible(timeout=30_000)
    assert SECRET_NAME not in await stranger.content()
    await stranger_context.close()
    await context.close()


async def _log_in(page: Page, ui_stack: UiStack) -> None:
    await page.goto(f"{ui_stack.api_url}/codec/session")
    await page.fill("input[name=username]", ui_stack.operator)
    await page.fill("input[name=password]", PASSWORD)
    await page.click("button[type=submit]")
    await page.wait_for_url(f"{ui_stack.ui_url}/**", timeout=20_000)


async def _failure_of_the_failed_workflow(page: Page, ui_stack: UiStack) -> Locator:
    """The failure of the 'Workflow Execution Failed' event, expanded in the event history."""
    await page.goto(ui_stack.failed_workflow_page)
    await page.get_by_role("tab", name="Event History").click()
    failed_event = page.get_by_role("row").filter(has_text="Workflow Execution Failed")
    await failed_event.get_by_role("button", name="Expand details").click(timeout=30_000)
    return page.get_by_role("textbox", name="Failure")


@pytest.mark.timeout(180)
async def test_the_ui_shows_a_failure_message_decoded_only_to_a_logged_in_operator(
    ui_stack: UiStack, browser: Browser
) -> None:
    """The failure's message is encrypted in the history (lendflow.temporal's failure converter):
    a stranger sees ciphertext; the operator reads the message."""
    stranger_context = await browser.new_context()
    stranger = await stranger_context.new_page()
    failure = await _failure_of_the_failed_workflow(stranger, ui_stack)
    await expect(failure).to_contain_text("Encoded failure", timeout=30_000)
    await expect(failure).to_contain_text(base64.b64encode(ENCODING).decode())  # "binary/encrypted"
    assert SECRET_NAME not in await stranger.content()
    await stranger_context.close()

    context = await browser.new_context()
    page = await context.new_page()
    await _log_in(page, ui_stack)
    failure = await _failure_of_the_failed_workflow(page, ui_stack)
    await expect(failure).to_contain_text(f"signer {SECRET_NAME} refused the envelope", timeout=30_000)
    await context.close()
