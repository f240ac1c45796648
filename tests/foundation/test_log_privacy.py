"""LGPD in the logs: no CPF, e-mail or name in clear, tracebacks included, in both renderers.

The end-to-end check runs a failing activity through a real worker (the project's interceptor)
against the shared Temporal server, with the project's logging set-up at the worker's level, and
reads every line the process wrote: the activity's own line and the SDK's "Completing activity as
failed" with its traceback, for each attempt.
"""

from __future__ import annotations

import io
import json
import logging
import random
import re
import string
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

import pytest
import structlog
from stack_support import new_cpf
from temporalio import activity, workflow
from temporalio.client import Client, WorkflowFailureError
from temporalio.common import RetryPolicy
from temporalio.worker import Worker

from lendflow.logging import configure_logging, mask_personal_data, mask_text
from lendflow.settings import Settings
from workers.log_context import LogContextInterceptor


def _formatted(cpf: str) -> str:
    return f"{cpf[:3]}.{cpf[3:6]}.{cpf[6:9]}-{cpf[9:]}"


def _masked(cpf: str) -> str:
    return f"***.{cpf[3:6]}.{cpf[6:9]}-**"


# The masker, field by field and in free text


def test_identifier_with_eleven_digits_inside_is_left_whole() -> None:
    ids = [
        "doc_36d5e4a82c01483512345c38eed61bd5",
        f"doc_{uuid.uuid4().hex[:2]}a{new_cpf(min_score=0)}b{uuid.uuid4().hex[:8]}",
        "123e4567-e89b-12d3-a456-426614174000",
        f"E12345678{'2026120204'}{new_cpf(min_score=0)}x",
        "123456789012",  # twelve digits: not a CPF
    ]
    for identifier in ids:
        line = mask_personal_data(
            None, "info", {"event": "ecm.stored", "document_id": identifier, "note": f"id {identifier}"}
        )
        assert line == {"event": "ecm.stored", "document_id": identifier, "note": f"id {identifier}"}


def test_bare_and_formatted_cpf_in_free_text_are_masked() -> None:
    cpf = new_cpf(min_score=0)
    for text in (
        f"customer {cpf} declined",
        f"customer {_formatted(cpf)} declined",
        f"GET /pix/keys/{cpf}?x=1",
        f"cpf={cpf}",
        f"({_formatted(cpf)})",
    ):
        masked = mask_text(text)
        assert cpf not in masked and _formatted(cpf) not in masked
        assert _masked(cpf) in masked


def test_fields_that_hold_personal_data_are_masked_whatever_their_form() -> None:
    cpf = new_cpf(min_score=0)
    while cpf.startswith("0"):  # the int form below would drop the leading zero, leaving ten digits
        cpf = new_cpf(min_score=0)
    line = mask_personal_data(
        None,
        "info",
        {
            "event": "kyc.checked",
            "cpf": cpf,
            "payer_cpf": _formatted(cpf),
            "holder_cpf": int(cpf),
            "declared_name": "Maria das Dores",
            "email": "maria.dores@example.com",
            "signer": {"name": "Maria das Dores", "cpf": cpf},
            "customer_email": "maria@localhost",
            "signers": [{"full_name": "Maria das Dores"}],
            "social_name": ["Maria", "Dores"],
            "process": "worker",
        },
    )
    assert line["cpf"] == line["payer_cpf"] == line["holder_cpf"] == _masked(cpf)
    assert line["declared_name"] == "***"
    assert line["email"] == "***@example.com"
    assert line["signer"] == {"name": "***", "cpf": _masked(cpf)}
    assert line["customer_email"] == "***"
    assert line["signers"] == [{"full_name": "***"}]
    assert line["social_name"] == ["***", "***"]
    assert line["process"] == "worker"


# A real activity failure through a real worker


@dataclass
class IdentityCheck:
    customer_id: str
    cpf: str
    full_name: str
    email: str


class IdentityRejected(Exception):
    pass


@activity.defn(name="test_privacy_check_identity")
async def check_identity(check: IdentityCheck) -> None:
    cpf = check.cpf  # a local variable a Rich traceback would print
    holder, email = check.full_name, check.email
    structlog.get_logger("tests.privacy").warning(
        "identity.checking", cpf=cpf, full_name=holder, email=email, detail=f"{_formatted(cpf)} of {holder}"
    )
    raise IdentityRejected(f"CPF {cpf} ({_formatted(cpf)}) of {holder} <{email}> rejected")


@workflow.defn(name="TestPrivacyIdentityWorkflow", sandboxed=False)
class IdentityWorkflow:
    @workflow.run
    async def run(self, check: IdentityCheck) -> None:
        await workflow.execute_activity(
            check_identity,
            check,
            start_to_close_timeout=timedelta(seconds=10),
            retry_policy=RetryPolicy(initial_interval=timedelta(milliseconds=100), maximum_attempts=2),
        )


@pytest.fixture
def log_lines(request: pytest.FixtureRequest) -> Iterator[tuple[bool, io.StringIO]]:
    """The project's logging set-up (JSON or console), writing into a buffer; restored afterwards."""
    root = logging.getLogger()
    saved = (root.handlers[:], root.level, structlog.get_config(), sys.excepthook)
    configure_logging(Settings(environment="test", log_json=request.param, log_level="INFO"))
    buffer = io.StringIO()
    root.handlers[0].setStream(buffer)  # type: ignore[attr-defined]
    yield request.param, buffer
    root.handlers[:], level, config, sys.excepthook = saved
    root.setLevel(level)
    structlog.configure(**config)


@pytest.mark.parametrize("log_lines", [True, False], ids=["json", "console"], indirect=True)
async def test_failed_activity_logs_no_cpf_email_or_name(
    temporal_client: Client, log_lines: tuple[bool, io.StringIO]
) -> None:
    as_json, buffer = log_lines
    cpf = new_cpf(min_score=0)
    suffix = "".join(random.choices(string.ascii_lowercase, k=8))
    check = IdentityCheck(
        customer_id=str(uuid.uuid4()),
        cpf=cpf,
        full_name=f"Joana Privacidade {suffix.capitalize()}",
        email=f"joana.{suffix}@example.com",
    )
    task_queue = f"test-privacy-{uuid.uuid4()}"
    async with Worker(
        temporal_client,
        task_queue=task_queue,
        workflows=[IdentityWorkflow],
        activities=[check_identity],
        interceptors=[LogContextInterceptor()],
    ):
        with pytest.raises(WorkflowFailureError):
            await temporal_client.execute_workflow(
                IdentityWorkflow.run, check, id=f"test-privacy-{uuid.uuid4()}", task_queue=task_queue
            )

    text = buffer.getvalue()
    # Every failed attempt was logged by the SDK with its traceback, and the activity's own line.
    assert text.count("Completing activity as failed") == 2
    assert text.count("IdentityRejected") >= 2
    assert text.count("identity.checking") == 2
    assert _masked(cpf) in text  # the CPF passed through, masked
    if as_json:
        records = [json.loads(line) for line in text.splitlines()]
        assert sum("IdentityRejected" in record.get("exception", "") for record in records) >= 2

    # Nowhere in clear: not the CPF in any form, not the e-mail, not the name (any case).
    lowered = text.lower()
    assert re.search(rf"(?<!\d){cpf}(?!\d)", text) is None
    assert _formatted(cpf) not in text
    assert re.search(r"(?<!\d)" + r"\D?".join(cpf) + r"(?!\d)", text) is None
    assert check.email.lower() not in lowered
    assert check.email.split("@")[0] not in lowered
    assert check.full_name.lower() not in lowered
    assert suffix not in lowered


# Fields that hold a person's data, and an e-mail in the message, in both renderers


@pytest.mark.parametrize("log_lines", [True, False], ids=["json", "console"], indirect=True)
def test_personal_fields_and_an_email_in_the_message_are_masked_in_both_renderers(
    log_lines: tuple[bool, io.StringIO],
) -> None:
    as_json, buffer = log_lines
    suffix = "".join(random.choices(string.ascii_lowercase, k=8))
    email = f"ana.{suffix}@example.com"
    personal = {
        "full_name": f"Ana Registro {suffix.capitalize()}",
        "name": f"Ana {suffix.capitalize()}",
        "email": f"contato.{suffix}@example.org",
        "address": f"Rua {suffix.capitalize()}, 1500, Bela Vista, São Paulo",
        "address_street": f"Avenida {suffix.capitalize()}",
        "postal_code": f"0{random.randint(1000000, 9999999)}",
        "monthly_income": Decimal(f"{random.randint(3000, 90000)}.{random.randint(10, 99)}"),
        "phone": f"+55 11 9{random.randint(1000, 9999)}-{random.randint(1000, 9999)}",
        "birth_date": date(1980 + random.randint(0, 20), 2, 3),
    }
    structlog.get_logger("tests.privacy").info(f"customer.registered by {email}", **personal)
    # The standard library's way, as workflow.logger and the SDK write: a %-formatted message.
    logging.getLogger("temporalio.workflow").warning("reminder sent to %s", email)
    # Not personal, and readable as before: a network address, the lender's income, ids.
    structlog.get_logger("tests.privacy").info(
        "services.ready", address="127.0.0.1:5432", interest_income=Decimal("12.34"), customer_id=suffix
    )

    text = buffer.getvalue()
    lines = text.splitlines()
    assert len(lines) == 3
    for value in [email, *personal.values()]:
        shown = value.isoformat() if isinstance(value, date) else str(value)
        assert shown.lower() not in text.lower()
    assert suffix.capitalize() not in text
    assert text.count("***@example.com") == 2
    if as_json:
        registered, reminder, ready = (json.loads(line) for line in lines)
        assert {key: registered[key] for key in personal if key != "email"} == dict.fromkeys(
            (key for key in personal if key != "email"), "***"
        )
        assert registered["email"] == "***@example.org"
        assert reminder["event"] == "reminder sent to ***@example.com"
        assert ready["address"] == "127.0.0.1:5432" and "12.34" in ready["interest_income"]
    else:
        plain = re.sub(r"\x1b\[[0-9;]*m", "", lines[2])  # without the console's colours
        assert "address=127.0.0.1:5432" in plain and "12.34" in plain
