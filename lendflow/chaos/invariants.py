"""What must hold after every scenario, each checked from where the truth lives.

- one payout per loan: the simulator's statement (``GET /_admin/pix/payouts?external_reference=``)
  and, for a disbursed loan, exactly one;
- every accepted request has its row and its workflow: the customer and the application in
  PostgreSQL, ``onboarding-{customer}`` and ``loan-{application}`` in Temporal;
- each incoming event ends in exactly one of trusted or the DLQ (Kafka, read committed);
- every ledger balances, and each loan has at most one disbursement entry (PostgreSQL);
- webhooks applied once: no event bridged to a workflow twice (the bridge's claims), one settled
  payout per loan, and each signed envelope signed once in the loan's steps;
- status transitions only forward, never out of a terminal status (the loan events in the outbox);
- no unmasked CPF of the run in any log file of the run, nor in the Temporal history of its workflows
  (payload data decoded from base64 and searched too);
- outbox lag back to zero (no unpublished row), waited for a while.
"""

from __future__ import annotations

import asyncio
import base64
import json
import re
import time
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
from confluent_kafka import Message
from sqlalchemy import func, select
from temporalio.client import Client
from temporalio.service import RPCError

from integrations.cpf import format_cpf
from lendflow.chaos.journey import JourneyRecord
from lendflow.settings import Settings
from pipeline.kafka import DLQ_EVENT_ID, headers_of, read_committed
from storage import ledger
from storage.db import create_engine, create_session_maker
from storage.models import Customer, JournalEntry, LoanApplication, OutboxEvent, ProcessedEvent
from workflows.contracts.onboarding import onboarding_workflow_id
from workflows.contracts.origination import ApplicationStatus, loan_workflow_id

# The order an application moves in; a terminal status is never left.
FORWARD = [
    ApplicationStatus.SUBMITTED,
    ApplicationStatus.ANALYZING,
    ApplicationStatus.MANUAL_REVIEW,
    ApplicationStatus.OFFER_READY,
    ApplicationStatus.OFFER_ACCEPTED,
    ApplicationStatus.CONTRACT_SENT,
    ApplicationStatus.SIGNED,
    ApplicationStatus.DISBURSING,
    ApplicationStatus.DISBURSED,
]
TERMINAL = {
    ApplicationStatus.DISBURSED,
    ApplicationStatus.DECLINED,
    ApplicationStatus.EXPIRED,
    ApplicationStatus.CANCELLED,
    ApplicationStatus.FAILED,
}
_DATA = re.compile(r'"data"\s*:\s*"([A-Za-z0-9+/=]+)"')


def transition_allowed(before: str, after: str) -> bool:
    """Forward along the journey, or to a terminal status from an open one; a repeat is no move."""
    if before == after:
        return True
    old, new = ApplicationStatus(before), ApplicationStatus(after)
    if old in TERMINAL:
        return False
    if new in TERMINAL and new != ApplicationStatus.DISBURSED:
        return True
    return FORWARD.index(new) > FORWARD.index(old)


@dataclass
class Check:
    name: str
    ok: bool
    detail: str = ""


@dataclass
class Verdict:
    checks: list[Check] = field(default_factory=list)
    payouts: int = 0
    doubled: int = 0
    lost: int = 0

    @property
    def ok(self) -> bool:
        return all(check.ok for check in self.checks)

    def add(self, name: str, problems: list[str], *, total: int | None = None) -> None:
        counted = f" of {total}" if total is not None else ""
        detail = f"{len(problems)} problem(s){counted}: " + "; ".join(problems[:5]) if problems else f"ok{counted}"
        self.checks.append(Check(name, not problems, detail))


def _cpf_forms(cpfs: list[str]) -> list[str]:
    return [form for cpf in cpfs if cpf for form in (cpf, format_cpf(cpf))]


def cpf_leaks(text: str, cpfs: list[str]) -> int:
    """How many unmasked CPFs of ``cpfs`` appear in ``text`` (bare or formatted)."""
    return sum(text.count(form) for form in _cpf_forms(cpfs))


def _decoded_payloads(history_json: str) -> str:
    parts = []
    for match in _DATA.finditer(history_json):
        try:
            parts.append(base64.b64decode(match.group(1)).decode("utf-8", "replace"))
        except ValueError:
            continue
    return "\n".join(parts)


async def check_invariants(
    settings: Settings,
    temporal: Client,
    simulator_url: str,
    records: list[JourneyRecord],
    log_files: list[Path],
    *,
    outbox_wait: float = 60.0,
) -> Verdict:
    verdict = Verdict()
    applications = [r.application_id for r in records if r.application_id]
    customers = [r.customer_id for r in records if r.customer_id]
    engine = create_engine(settings.postgres)
    sessions = create_session_maker(engine)
    try:
        # One payout per loan, at the PSP.
        problems: list[str] = []
        async with httpx.AsyncClient(base_url=simulator_url, timeout=30) as simulator:
            for record in records:
                if not record.application_id:
                    continue
                answer = await simulator.get(
                    "/_admin/pix/payouts", params={"external_reference": record.application_id}
                )
                answer.raise_for_status()
                taken = [p for p in answer.json() if p.get("status") != "rejected"]
                verdict.payouts += len(taken)
                if len(taken) > 1:
                    verdict.doubled += 1
                    problems.append(f"{record.application_id}: {len(taken)} payouts")
                if record.status == "disbursed" and len(taken) != 1:
                    if not taken:
                        verdict.lost += 1
                    problems.append(f"{record.application_id}: disbursed with {len(taken)} payouts")
        verdict.add("one payout per loan", problems, total=len(applications))

        # Every accepted request has its row and its workflow.
        problems = []
        async with sessions() as session:
            known_customers = {
                str(c) for c in await session.scalars(select(Customer.id).where(Customer.id.in_(_uuids(customers))))
            }
            rows = {
                str(a.id): a
                for a in await session.scalars(
                    select(LoanApplication).where(LoanApplication.id.in_(_uuids(applications)))
                )
            }
        for customer_id in customers:
            if customer_id not in known_customers:
                problems.append(f"customer {customer_id} has no row")
            if not await _workflow_exists(temporal, onboarding_workflow_id(customer_id)):
                problems.append(f"customer {customer_id} has no onboarding workflow")
        for application_id in applications:
            if application_id not in rows:
                problems.append(f"application {application_id} has no row")
            if not await _workflow_exists(temporal, loan_workflow_id(application_id)):
                problems.append(f"application {application_id} has no workflow")
        verdict.lost += len(problems)
        verdict.add(
            "every accepted request has its row and workflow", problems, total=len(customers) + len(applications)
        )

        # Each incoming event ends in exactly one of trusted or the DLQ.
        verdict.add("each incoming event ends trusted xor in the DLQ", await asyncio.to_thread(_event_fates, settings))

        # Every ledger balances; at most one disbursement per loan.
        problems = []
        async with sessions() as session:
            for application_id in applications:
                balances = await ledger.balances(session, uuid.UUID(application_id))
                if sum(balances.values(), Decimal("0")) != 0:
                    problems.append(f"{application_id}: ledger off by {sum(balances.values())}")
            disbursements = (
                await session.execute(
                    select(JournalEntry.application_id, func.count())
                    .where(
                        JournalEntry.application_id.in_(_uuids(applications)),
                        JournalEntry.kind == "disbursement",
                        JournalEntry.reverses_entry_id.is_(None),
                    )
                    .group_by(JournalEntry.application_id)
                )
            ).all()
        doubled_entries = [f"{a}: {n} disbursement entries" for a, n in disbursements if n > 1]
        verdict.doubled += len(doubled_entries)
        verdict.add("every ledger balances, one disbursement entry per loan", problems + doubled_entries)

        # Webhooks applied once: no event bridged twice, each envelope signed once in the loan's steps.
        problems = []
        async with sessions() as session:
            twice = (
                await session.execute(
                    select(ProcessedEvent.event_id, func.count())
                    .where(ProcessedEvent.outcome == "bridged")
                    .group_by(ProcessedEvent.consumer, ProcessedEvent.event_id)
                    .having(func.count() > 1)
                )
            ).all()
            problems += [f"event {e} bridged {n} times" for e, n in twice]
            steps = {
                str(a.id): a.steps or []
                for a in await session.scalars(
                    select(LoanApplication).where(LoanApplication.id.in_(_uuids(applications)))
                )
            }
        for application_id, loan_steps in steps.items():
            signed = [s for s in loan_steps if s.get("step") == "signature" and s.get("outcome") == "signed"]
            settled = [s for s in loan_steps if s.get("step") == "disbursement" and s.get("outcome") == "settled"]
            if len(signed) > 1 or len(settled) > 1:
                problems.append(f"{application_id}: signed {len(signed)}x, settled {len(settled)}x")
        verdict.add("webhooks applied once", problems)

        # Only allowed status transitions, each recorded (the loan events of the outbox).
        problems = []
        statuses = {str(s) for s in ApplicationStatus}
        async with sessions() as session:
            events = (
                await session.execute(
                    select(OutboxEvent.subject, OutboxEvent.event_type)
                    .where(OutboxEvent.subject.in_(applications), OutboxEvent.event_type.like("loan.%"))
                    .order_by(OutboxEvent.id)
                )
            ).all()
        path: dict[str, list[str]] = defaultdict(list)
        for subject, event_type in events:
            status = event_type.removeprefix("loan.")
            if status in statuses:
                path[subject].append(status)
        for application_id in applications:
            seen = path.get(application_id, [])
            for before, after in zip(seen, seen[1:], strict=False):
                if not transition_allowed(before, after):
                    problems.append(f"{application_id}: {before} → {after}")
            record = next(r for r in records if r.application_id == application_id)
            if record.terminal and (not seen or seen[-1] != record.status):
                problems.append(f"{application_id}: ended {record.status}, last recorded {seen[-1:] or 'nothing'}")
        verdict.add("only allowed status transitions, each recorded", problems, total=len(applications))

        # No unmasked CPF in a log line or a Temporal history.
        cpfs = [r.cpf for r in records if r.cpf]
        problems = []
        for path_ in log_files:
            leaks = cpf_leaks(await asyncio.to_thread(path_.read_text, errors="replace"), cpfs)
            if leaks:
                problems.append(f"{path_.name}: {leaks} unmasked CPF(s)")
        for workflow_id in [onboarding_workflow_id(c) for c in customers] + [loan_workflow_id(a) for a in applications]:
            try:
                history = await temporal.get_workflow_handle(workflow_id).fetch_history()
            except RPCError:
                continue  # a missing workflow is reported above
            text = history.to_json()
            leaks = cpf_leaks(text, cpfs) + cpf_leaks(_decoded_payloads(text), cpfs)
            if leaks:
                problems.append(f"{workflow_id}: {leaks} unmasked CPF(s) in its history")
        verdict.add("no unmasked CPF in logs or Temporal histories", problems)

        # Outbox lag back to zero.
        deadline = time.monotonic() + outbox_wait
        while True:
            async with sessions() as session:
                lag = await session.scalar(select(func.count()).where(OutboxEvent.published_at.is_(None))) or 0
            if lag == 0 or time.monotonic() > deadline:
                break
            await asyncio.sleep(1)
        verdict.add("outbox lag zero", [f"{lag} unpublished outbox rows"] if lag else [])
    finally:
        await engine.dispose()
    return verdict


def _uuids(ids: list[str]) -> list[uuid.UUID]:
    return [uuid.UUID(i) for i in ids]


async def _workflow_exists(temporal: Client, workflow_id: str) -> bool:
    try:
        await temporal.get_workflow_handle(workflow_id).describe()
    except RPCError:
        return False
    return True


def _event_id(message: Message, header: str | None = None) -> str | None:
    if header:
        for key, raw in headers_of(message):
            if key == header and raw is not None:
                return raw.decode() if isinstance(raw, bytes) else str(raw)
    value = message.value()
    try:
        body: Any = json.loads(value or b"")
    except ValueError:
        return None
    return str(body.get("event_id")) if isinstance(body, dict) and body.get("event_id") else None


def _event_fates(settings: Settings) -> list[str]:
    topics = settings.kafka.topics
    bootstrap = settings.kafka.bootstrap_servers
    incoming = {
        _event_id(m) for m in read_committed(bootstrap, topics.incoming, purpose="chaos-invariants", timeout=30)
    }
    trusted = Counter(
        _event_id(m) for m in read_committed(bootstrap, topics.trusted, purpose="chaos-invariants", timeout=30)
    )
    dlq = Counter(
        _event_id(m, DLQ_EVENT_ID)
        for m in read_committed(bootstrap, topics.dlq, purpose="chaos-invariants", timeout=30)
    )
    problems = []
    for event_id in sorted(e for e in incoming if e):
        fates = trusted[event_id] + dlq[event_id]
        if fates != 1:
            problems.append(f"event {event_id}: trusted {trusted[event_id]}x, DLQ {dlq[event_id]}x")
    return problems
