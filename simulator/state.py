"""Everything the simulator remembers, and the helpers its routes share.

Like a real provider, the simulator keeps what it was told across restarts. Everything lives
under ``data_dir`` (``simulator.data_dir``, default ``{run_dir}/simulator``):

- ``state.json``: overrides, PIX keys, envelopes, payouts, charges, received payments and
  refunds, with the idempotency keys that map to them. Written whole, atomically (temporary file,
  then rename), whenever it changed: after every request that may change it, when a timer is set
  (so a payout accepted but not yet answered survives), and after each timer's action. Read at
  start; payouts and refunds still processing settle and open envelopes expire on schedule again.
- ``ecm/``: ECM documents, one file each.

Faults are not kept: they are the test's knobs, not the provider's data. ``/_admin/reset`` forgets
the state (not the ECM's documents). Webhooks still waiting to be delivered when the simulator
stops are not sent after the restart; a client asks for the object (GET) to learn its status.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import os
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import Depends, Request
from pydantic import BaseModel, ConfigDict, Field, SecretStr, TypeAdapter

from lendflow.settings import Settings
from simulator.faults import FaultBook
from simulator.webhook_sender import WebhookSender

# The payer's institution in payments the simulator receives on charges.
PAYER_ISPB = "87654321"


class ProviderFailure(Exception):
    """An error answer in the provider's own style.

    ``style``: ``serpro`` → ``{"error", "error_description"}``; ``bcb`` → problem+json with the
    code as the last segment of ``type``; ``simple`` → ``{"error", "message"}``.
    """

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        style: Literal["serpro", "bcb", "simple"] = "simple",
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.style = style


def fingerprint(payload: Any) -> str:
    """A stable digest of a request body, to tell a replay from a different request."""
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()


# Admin overrides


CpfStatusName = Literal["regular", "suspended", "holder_deceased", "pending_regularisation", "cancelled", "null"]

CPF_STATUS_CODES: dict[str, str] = {
    "regular": "0",
    "suspended": "2",
    "holder_deceased": "3",
    "pending_regularisation": "4",
    "cancelled": "9",
    "null": "8",
}


class CpfOverride(BaseModel):
    """A fixed Federal Revenue answer for one CPF."""

    model_config = ConfigDict(extra="forbid")

    outcome: Literal["found", "partial", "not_found", "minor"] = "found"
    status: CpfStatusName | None = None
    situation_code: Literal["0", "2", "3", "4", "5", "8", "9"] | None = None
    name: str | None = None
    social_name: str | None = None
    birth_date: date | None = None
    death_year: int | None = None


class NegativeRecordOverride(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: Literal["default", "protest", "bounced_cheque", "lawsuit"]
    creditor: str
    amount: Decimal = Field(gt=0, decimal_places=2)
    registered_on: date


class CreditOverride(BaseModel):
    """A fixed credit bureau answer for one CPF; unset fields keep their deterministic value."""

    model_config = ConfigDict(extra="forbid")

    outcome: Literal["found", "no_file"] = "found"
    score: int | None = Field(default=None, ge=0, le=1000)
    negative_records: list[NegativeRecordOverride] | None = None
    estimated_monthly_income: Decimal | None = Field(default=None, ge=0, decimal_places=2)


class PixKeyBehaviour(BaseModel):
    """What happens to payouts to one PIX key."""

    model_config = ConfigDict(extra="forbid")

    outcome: Literal["settle", "reject", "not_found", "insufficient_funds"] = "settle"
    failure_reason: str = "rejected by the receiving institution"


# Records


@dataclass
class SignerRecord:
    signer_id: str
    name: str
    email: str
    cpf: str | None
    token: str
    status: str = "pending"
    signed_at: datetime | None = None
    declined_at: datetime | None = None


@dataclass
class EnvelopeRecord:
    envelope_id: str
    external_reference: str
    fingerprint: str
    document_name: str
    document_sha256: str
    document_size: int
    signers: list[SignerRecord]
    created_at: datetime
    expires_at: datetime
    status: str = "sent"
    completed_at: datetime | None = None
    voided_at: datetime | None = None
    void_reason: str | None = None


@dataclass
class PayoutRecord:
    end_to_end_id: str
    idempotency_key: str
    fingerprint: str
    external_reference: str | None
    amount: Decimal
    destination: dict[str, Any]
    created_at: datetime
    outcome: PixKeyBehaviour
    status: str = "processing"
    settled_at: datetime | None = None
    failure_reason: str | None = None


@dataclass
class ReceivedPixRecord:
    end_to_end_id: str
    txid: str
    amount: Decimal
    paid_at: datetime
    payer_name: str | None
    payer_cpf: str | None
    payer_note: str | None = None


@dataclass
class ChargeRecord:
    txid: str
    fingerprint: str
    amount: Decimal
    receiver_key: str
    debtor: dict[str, str] | None
    payer_request: str | None
    created_at: datetime
    expires_in_seconds: int
    location_id: str
    location: str
    br_code: str
    payment_url: str
    status: str = "ATIVA"
    revision: int = 0
    payments: list[ReceivedPixRecord] = field(default_factory=list)


@dataclass
class RefundRecord:
    refund_id: str
    end_to_end_id: str
    return_id: str
    amount: Decimal
    description: str | None
    requested_at: datetime
    status: str = "EM_PROCESSAMENTO"
    settled_at: datetime | None = None
    reason: str | None = None


# ECM on disk


class DocumentRecord(BaseModel):
    document_id: str
    sha256: str
    size_bytes: int
    content_type: str
    filename: str
    metadata: dict[str, str]
    stored_at: datetime


def _write_atomically(path: Path, data: bytes) -> None:
    temporary = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    temporary.write_bytes(data)
    os.replace(temporary, path)


class EcmStore:
    """Documents as ``{id}.bin`` + ``{id}.json``; idempotency keys as ``keys/{sha256(key)}.json``."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._documents = root / "documents"
        self._keys = root / "keys"

    def _ensure(self) -> None:
        self._documents.mkdir(parents=True, exist_ok=True)
        self._keys.mkdir(parents=True, exist_ok=True)

    def _key_path(self, idempotency_key: str) -> Path:
        return self._keys / f"{hashlib.sha256(idempotency_key.encode()).hexdigest()}.json"

    def find_by_key(self, idempotency_key: str) -> tuple[str, str] | None:
        """(document id, request fingerprint) stored under the key, if any."""
        path = self._key_path(idempotency_key)
        if not path.exists():
            return None
        entry = json.loads(path.read_text())
        return entry["document_id"], entry["fingerprint"]

    def put(
        self,
        content: bytes,
        *,
        filename: str,
        content_type: str,
        metadata: dict[str, str],
        stored_at: datetime,
        idempotency_key: str | None,
        request_fingerprint: str,
    ) -> DocumentRecord:
        self._ensure()
        record = DocumentRecord(
            document_id=f"doc_{uuid.uuid4().hex}",
            sha256=hashlib.sha256(content).hexdigest(),
            size_bytes=len(content),
            content_type=content_type,
            filename=filename,
            metadata=metadata,
            stored_at=stored_at,
        )
        _write_atomically(self._documents / f"{record.document_id}.bin", content)
        _write_atomically(self._documents / f"{record.document_id}.json", record.model_dump_json().encode())
        if idempotency_key is not None:
            entry = {"document_id": record.document_id, "fingerprint": request_fingerprint}
            _write_atomically(self._key_path(idempotency_key), json.dumps(entry).encode())
        return record

    def _safe(self, document_id: str) -> bool:
        return document_id.startswith("doc_") and document_id[4:].isalnum() and len(document_id) <= 40

    def get(self, document_id: str) -> DocumentRecord | None:
        if not self._safe(document_id):
            return None
        path = self._documents / f"{document_id}.json"
        if not path.exists():
            return None
        return DocumentRecord.model_validate_json(path.read_bytes())

    def read(self, document_id: str) -> bytes | None:
        if not self._safe(document_id):
            return None
        path = self._documents / f"{document_id}.bin"
        return path.read_bytes() if path.exists() else None

    def delete(self, document_id: str) -> bool:
        if not self._safe(document_id):
            return False
        existed = False
        for suffix in (".json", ".bin"):
            path = self._documents / f"{document_id}{suffix}"
            if path.exists():
                path.unlink()
                existed = True
        return existed


# The whole state, as kept on disk

STATE_FILE_VERSION = 1


@dataclass
class StateSnapshot:
    """What ``state.json`` holds; the lookup tables derived from it are rebuilt on load."""

    version: int
    cpf_overrides: dict[str, CpfOverride]
    credit_overrides: dict[str, CreditOverride]
    pix_keys: dict[str, PixKeyBehaviour]
    envelopes: dict[str, EnvelopeRecord]
    envelope_by_key: dict[str, str]
    payouts: dict[str, PayoutRecord]
    payout_by_key: dict[str, str]
    charges: dict[str, ChargeRecord]
    refunds: list[RefundRecord]


_SNAPSHOT = TypeAdapter(StateSnapshot)


class SimulatorState:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        simulator = settings.simulator
        self.faults = FaultBook()
        self.data_dir = simulator.data_dir or settings.run_dir / "simulator"
        self.ecm = EcmStore(self.data_dir / "ecm")
        self.state_file = self.data_dir / "state.json"
        self._saved: bytes | None = None
        self.ecm_lock = asyncio.Lock()
        secrets: dict[str, list[SecretStr]] = {
            "esignature": list(settings.providers.esignature.webhook_secrets),
            "pix": list(settings.providers.pix.webhook_secrets),
        }
        self.webhooks = WebhookSender(
            target_base_url=simulator.webhook_target_base_url or settings.providers.webhook_target_base_url,
            secrets_by_provider=secrets,
            faults=self.faults,
            max_attempts=simulator.webhook_max_attempts,
            retry_base_seconds=simulator.webhook_retry_base_seconds,
            timeout_seconds=simulator.webhook_timeout_seconds,
        )
        self._timers: set[asyncio.Task[None]] = set()
        self.reset()
        self.load()

    def reset(self) -> None:
        """Forget everything held in memory (not the ECM's documents on disk)."""
        self.faults.reset()
        self.cpf_overrides: dict[str, CpfOverride] = {}
        self.credit_overrides: dict[str, CreditOverride] = {}
        self.pix_keys: dict[str, PixKeyBehaviour] = {}
        self.envelopes: dict[str, EnvelopeRecord] = {}
        self.envelope_by_key: dict[str, str] = {}
        self.signer_by_token: dict[str, tuple[str, str]] = {}
        self.payouts: dict[str, PayoutRecord] = {}
        self.payout_by_key: dict[str, str] = {}
        self.charges: dict[str, ChargeRecord] = {}
        self.charge_by_location: dict[str, str] = {}
        self.received: dict[str, ReceivedPixRecord] = {}
        self.refunds: dict[tuple[str, str], RefundRecord] = {}
        for timer in list(self._timers):
            timer.cancel()

    def _snapshot(self) -> bytes:
        return _SNAPSHOT.dump_json(
            StateSnapshot(
                version=STATE_FILE_VERSION,
                cpf_overrides=self.cpf_overrides,
                credit_overrides=self.credit_overrides,
                pix_keys=self.pix_keys,
                envelopes=self.envelopes,
                envelope_by_key=self.envelope_by_key,
                payouts=self.payouts,
                payout_by_key=self.payout_by_key,
                charges=self.charges,
                refunds=list(self.refunds.values()),
            )
        )

    def save(self) -> None:
        """Write the state to ``state.json`` if it changed since the last write."""
        data = self._snapshot()
        if data == self._saved:
            return
        self.data_dir.mkdir(parents=True, exist_ok=True)
        _write_atomically(self.state_file, data)
        self._saved = data

    def load(self) -> None:
        """Take up the state a previous run left in ``state.json``, if any."""
        if not self.state_file.exists():
            return
        data = self.state_file.read_bytes()
        snapshot = _SNAPSHOT.validate_json(data)
        if snapshot.version != STATE_FILE_VERSION:
            raise ValueError(f"{self.state_file}: state file version {snapshot.version}, expected {STATE_FILE_VERSION}")
        self.cpf_overrides = snapshot.cpf_overrides
        self.credit_overrides = snapshot.credit_overrides
        self.pix_keys = snapshot.pix_keys
        self.envelopes = snapshot.envelopes
        self.envelope_by_key = snapshot.envelope_by_key
        self.signer_by_token = {
            signer.token: (envelope.envelope_id, signer.signer_id)
            for envelope in self.envelopes.values()
            for signer in envelope.signers
        }
        self.payouts = snapshot.payouts
        self.payout_by_key = snapshot.payout_by_key
        self.charges = snapshot.charges
        self.charge_by_location = {charge.location_id: charge.txid for charge in self.charges.values()}
        # The same objects as the charges' payments, as when they were received.
        self.received = {payment.end_to_end_id: payment for charge in self.charges.values() for payment in charge.payments}
        self.refunds = {(refund.end_to_end_id, refund.refund_id): refund for refund in snapshot.refunds}
        self._saved = data

    @property
    def public_base_url(self) -> str:
        simulator = self.settings.simulator
        base = simulator.public_base_url or f"http://{simulator.host}:{simulator.port}"
        return base.rstrip("/")

    def schedule(self, delay_seconds: float, action: Callable[[], Awaitable[None]]) -> None:
        """Run ``action`` after ``delay_seconds`` in the background (settlements, expiries)."""

        async def run() -> None:
            await asyncio.sleep(delay_seconds)
            await action()
            self.save()

        # What set the timer (a payout, a refund, an envelope) is on disk before its answer leaves.
        self.save()
        task = asyncio.create_task(run())
        self._timers.add(task)
        task.add_done_callback(self._timers.discard)

    async def start(self) -> None:
        await self.webhooks.start()

    async def stop(self) -> None:
        for timer in list(self._timers):
            timer.cancel()
        if self._timers:
            await asyncio.gather(*self._timers, return_exceptions=True)
        self.save()
        await self.webhooks.stop()


def get_state(request: Request) -> SimulatorState:
    state: SimulatorState = request.app.state.simulator
    return state


StateDep = Annotated[SimulatorState, Depends(get_state)]


def bearer_guard(provider_attribute: str) -> Callable[[Request], None]:
    """A dependency that demands ``Authorization: Bearer <api key of that provider>``."""

    def check(request: Request) -> None:
        state: SimulatorState = request.app.state.simulator
        expected = getattr(state.settings.providers, provider_attribute).api_key.get_secret_value()
        given = request.headers.get("Authorization", "")
        scheme, _, token = given.partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(token.encode(), expected.encode()):
            style: Literal["serpro", "bcb", "simple"] = (
                "serpro" if provider_attribute == "federal_revenue" else "simple"
            )
            raise ProviderFailure(401, "invalid_token", "missing or invalid credentials", style=style)

    return check
