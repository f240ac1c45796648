"""Everything the simulator remembers, and the helpers its routes share.

Like a real provider, the simulator keeps what it was told across restarts. Everything lives
under ``data_dir`` (``simulator.data_dir``, default ``{run_dir}/simulator``):

- ``state.sqlite3``: overrides, PIX keys, envelopes, payouts, charges (with the payments they
  received) and refunds, with the idempotency keys that map to them; one row per object (see
  :class:`StateBook`). Whatever changed is written in one transaction after every request that may
  change something, when a timer is set (so a payout accepted but not yet answered survives), and
  after each timer's action. Read at start; payouts and refunds still processing settle and open
  envelopes expire on schedule again.
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
import sqlite3
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


class _Kept:
    """A record kept on disk: changing one of its attributes marks what holds it as changed."""

    def __setattr__(self, name: str, value: Any) -> None:
        object.__setattr__(self, name, value)
        changed = self.__dict__.get("_kept_changed")
        if changed is not None:
            changed()


@dataclass
class SignerRecord(_Kept):
    signer_id: str
    name: str
    email: str
    cpf: str | None
    token: str
    status: str = "pending"
    signed_at: datetime | None = None
    declined_at: datetime | None = None


@dataclass
class EnvelopeRecord(_Kept):
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
class PayoutRecord(_Kept):
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
class ReceivedPixRecord(_Kept):
    end_to_end_id: str
    txid: str
    amount: Decimal
    paid_at: datetime
    payer_name: str | None
    payer_cpf: str | None
    payer_note: str | None = None


@dataclass
class ChargeRecord(_Kept):
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
class RefundRecord(_Kept):
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


class _KeptTable(dict[Any, Any]):
    """One kind of kept object by key; every insert, replacement and removal is noted."""

    def __init__(self, book: StateBook, kind: str) -> None:
        super().__init__()
        self._book, self._kind = book, kind

    def __setitem__(self, key: Any, value: Any) -> None:
        super().__setitem__(key, value)
        self._book.adopt(self._kind, key, value)

    def __delitem__(self, key: Any) -> None:
        super().__delitem__(key)
        self._book.changed(self._kind, key)

    def pop(self, key: Any, *default: Any) -> Any:
        if key in self:
            self._book.changed(self._kind, key)
        return super().pop(key, *default)

    def setdefault(self, key: Any, default: Any = None) -> Any:
        if key not in self:
            self[key] = default
        return self[key]

    def update(self, *args: Any, **kwargs: Any) -> None:
        for key, value in dict(*args, **kwargs).items():
            self[key] = value

    def clear(self) -> None:
        for key in list(self):
            del self[key]

    def popitem(self) -> tuple[Any, Any]:
        key, value = super().popitem()
        self._book.changed(self._kind, key)
        return key, value


# What is kept, by kind: the type of its objects. Refunds are keyed by (EndToEndId, refund id).
KEPT_KINDS: dict[str, Any] = {
    "cpf_overrides": CpfOverride,
    "credit_overrides": CreditOverride,
    "pix_keys": PixKeyBehaviour,
    "envelopes": EnvelopeRecord,
    "envelope_by_key": str,
    "payouts": PayoutRecord,
    "payout_by_key": str,
    "charges": ChargeRecord,
    "refunds": RefundRecord,
}
_ADAPTERS = {kind: TypeAdapter(kind_type) for kind, kind_type in KEPT_KINDS.items()}
_SCHEMA = "CREATE TABLE IF NOT EXISTS kept (kind TEXT NOT NULL, key TEXT NOT NULL, body BLOB NOT NULL, PRIMARY KEY (kind, key))"


def _key_text(key: Any) -> str:
    return json.dumps(list(key)) if isinstance(key, tuple) else str(key)


def _key_from_text(kind: str, text: str) -> Any:
    return tuple(json.loads(text)) if kind == "refunds" else text


class StateBook:
    """Keeps the simulator's objects in SQLite (``state.sqlite3``), one row per object.

    Tables note which objects were added, replaced or removed, and records note their own attribute
    changes, so :meth:`write` touches only what changed since the last write, in one transaction.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.tables: dict[str, _KeptTable] = {}
        self._changed: set[tuple[str, Any]] = set()
        self._forget_all = False
        self._db: sqlite3.Connection | None = None

    def _connection(self) -> sqlite3.Connection:
        if self._db is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            # Used from the one event loop that serves the app, which may not be the thread that made it.
            self._db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            # WAL: a commit survives the process being killed (the OS has it) without an fsync each time.
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute(_SCHEMA)
        return self._db

    def new_tables(self) -> dict[str, _KeptTable]:
        """Empty tables for every kind; what was written before is forgotten at the next write."""
        self.tables = {kind: _KeptTable(self, kind) for kind in KEPT_KINDS}
        self._changed.clear()
        self._forget_all = True
        return self.tables

    def changed(self, kind: str, key: Any) -> None:
        self._changed.add((kind, key))

    def adopt(self, kind: str, key: Any, value: Any) -> None:
        """Note a new object, and have its (and its parts') attribute changes noted too."""
        self.changed(kind, key)
        if isinstance(value, _Kept):

            def note() -> None:
                self._changed.add((kind, key))

            for part in [value, *getattr(value, "signers", ()), *getattr(value, "payments", ())]:
                object.__setattr__(part, "_kept_changed", note)

    def write(self) -> None:
        if not self._changed and not self._forget_all:
            return
        db = self._connection()
        db.execute("BEGIN")
        try:
            if self._forget_all:
                db.execute("DELETE FROM kept")
            for kind, key in self._changed:
                value = self.tables[kind].get(key)
                if value is None:
                    db.execute("DELETE FROM kept WHERE kind = ? AND key = ?", (kind, _key_text(key)))
                else:
                    db.execute(
                        "INSERT OR REPLACE INTO kept (kind, key, body) VALUES (?, ?, ?)",
                        (kind, _key_text(key), _ADAPTERS[kind].dump_json(value)),
                    )
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        self._changed.clear()
        self._forget_all = False

    def read(self) -> None:
        """Fill the tables with what a previous run wrote."""
        if not self.path.exists():
            return
        for kind, key, body in self._connection().execute("SELECT kind, key, body FROM kept"):
            if kind in self.tables:
                self.tables[kind][_key_from_text(kind, key)] = _ADAPTERS[kind].validate_json(body)
        self._changed.clear()
        self._forget_all = False

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None


class SimulatorState:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        simulator = settings.simulator
        self.faults = FaultBook()
        self.data_dir = simulator.data_dir or settings.run_dir / "simulator"
        self.ecm = EcmStore(self.data_dir / "ecm")
        self.book = StateBook(self.data_dir / "state.sqlite3")
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
        """Forget every override, key, envelope, payout, charge and refund (not the ECM's documents)."""
        self.faults.reset()
        tables = self.book.new_tables()
        self.cpf_overrides: dict[str, CpfOverride] = tables["cpf_overrides"]
        self.credit_overrides: dict[str, CreditOverride] = tables["credit_overrides"]
        self.pix_keys: dict[str, PixKeyBehaviour] = tables["pix_keys"]
        self.envelopes: dict[str, EnvelopeRecord] = tables["envelopes"]
        self.envelope_by_key: dict[str, str] = tables["envelope_by_key"]
        self.payouts: dict[str, PayoutRecord] = tables["payouts"]
        self.payout_by_key: dict[str, str] = tables["payout_by_key"]
        self.charges: dict[str, ChargeRecord] = tables["charges"]
        self.refunds: dict[tuple[str, str], RefundRecord] = tables["refunds"]
        # Lookups derived from the kept objects.
        self.signer_by_token: dict[str, tuple[str, str]] = {}
        self.charge_by_location: dict[str, str] = {}
        self.received: dict[str, ReceivedPixRecord] = {}
        for timer in list(self._timers):
            timer.cancel()

    def save(self) -> None:
        """Write what changed since the last write."""
        self.book.write()

    def load(self) -> None:
        """Take up what a previous run kept, and rebuild the lookups derived from it."""
        self.book.read()
        self.signer_by_token = {
            signer.token: (envelope.envelope_id, signer.signer_id)
            for envelope in self.envelopes.values()
            for signer in envelope.signers
        }
        self.charge_by_location = {charge.location_id: charge.txid for charge in self.charges.values()}
        # The same objects as the charges' payments, as when they were received.
        self.received = {
            payment.end_to_end_id: payment for charge in self.charges.values() for payment in charge.payments
        }

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
        self.book.close()
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
