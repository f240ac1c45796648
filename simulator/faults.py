"""Fault injection: per provider and operation, what goes wrong and how often.

A :class:`FaultRule` is set with ``PUT /_admin/faults/{provider}/{operation}``; ``operation`` may
be ``*`` for every operation of the provider, and ``webhooks`` holds the delivery faults
(duplicates, delay) of the provider's webhooks. The rule for the exact operation wins over ``*``.

Inside a handler, ``async with faults.gate(provider, operation):`` wraps the operation: by default
the latency, hang and error happen before the operation takes effect; with
``after_processing`` they happen after it, so the client sees a failure (or gives up) although the
effect is real — the case idempotency keys exist for.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict, Field

PROVIDERS = ("federal-revenue", "credit-bureau", "ecm", "esignature", "pix")

OPERATIONS: dict[str, tuple[str, ...]] = {
    "federal-revenue": ("lookup_cpf",),
    "credit-bureau": ("credit_report",),
    "ecm": ("store_document", "get_document", "fetch_document", "delete_document"),
    "esignature": ("create_envelope", "get_envelope", "void_envelope", "webhooks"),
    "pix": (
        "create_payout",
        "get_payout",
        "create_charge",
        "get_charge",
        "cancel_charge",
        "refund",
        "get_refund",
        "webhooks",
    ),
}

ANY_OPERATION = "*"


class FaultRule(BaseModel):
    """What to do to calls of one operation (every field defaults to "nothing")."""

    model_config = ConfigDict(extra="forbid")

    # Added to every answer.
    latency_ms: int = Field(default=0, ge=0, le=600_000)
    # Share of calls (0 to 1) answered with error_status.
    error_rate: float = Field(default=0.0, ge=0.0, le=1.0)
    error_status: int = Field(default=503, ge=400, le=599)
    # Sent as Retry-After with injected errors (use with 429 or 503).
    retry_after_seconds: int | None = Field(default=None, ge=0)
    # The next N calls fail with error_status, then calls succeed again.
    fail_times: int = Field(default=0, ge=0)
    # Hold each call this long before answering: set it past the client's timeout to make it hang.
    hang_seconds: float = Field(default=0.0, ge=0.0, le=3600.0)
    # Apply latency, hang and errors after the operation took effect instead of before.
    after_processing: bool = False
    # Payouts (pix create_payout): act as a PSP that does not replay by idempotency key, refusing a
    # key it has seen with 409 `idempotency_key_reused` instead of answering with the first payout.
    refuse_replays: bool = False
    # Webhooks of the provider (set on operation "webhooks" or "*"): extra copies of each event,
    # and a delay before delivering (copies get a random extra delay, so they arrive out of order).
    duplicate_webhooks: int = Field(default=0, ge=0, le=10)
    webhook_delay_ms: int = Field(default=0, ge=0, le=600_000)


class InjectedFault(Exception):
    """An error answer decided by a fault rule; the app turns it into the HTTP response."""

    def __init__(self, status: int, retry_after_seconds: int | None) -> None:
        super().__init__(f"simulated fault {status}")
        self.status = status
        self.retry_after_seconds = retry_after_seconds


@dataclass(frozen=True)
class WebhookPlan:
    copies: int
    delay_seconds: float


class UnknownOperation(ValueError):
    pass


def check_operation(provider: str, operation: str) -> None:
    if provider not in OPERATIONS:
        raise UnknownOperation(f"unknown provider {provider!r}; one of {', '.join(PROVIDERS)}")
    if operation != ANY_OPERATION and operation not in OPERATIONS[provider]:
        raise UnknownOperation(
            f"unknown operation {operation!r} of {provider}; one of {', '.join(OPERATIONS[provider])} or *"
        )


class FaultBook:
    """The fault rules in force, and how many forced failures each still has to give."""

    def __init__(self, rng: random.Random | None = None) -> None:
        self._rules: dict[tuple[str, str], FaultRule] = {}
        self._failures_left: dict[tuple[str, str], int] = {}
        self._rng = rng or random.Random()

    def set(self, provider: str, operation: str, rule: FaultRule) -> None:
        check_operation(provider, operation)
        self._rules[(provider, operation)] = rule
        self._failures_left[(provider, operation)] = rule.fail_times

    def clear(self, provider: str, operation: str) -> bool:
        self._failures_left.pop((provider, operation), None)
        return self._rules.pop((provider, operation), None) is not None

    def reset(self) -> None:
        self._rules.clear()
        self._failures_left.clear()

    def listing(self) -> list[dict[str, object]]:
        return [
            {
                "provider": provider,
                "operation": operation,
                "rule": rule.model_dump(),
                "failures_left": self._failures_left.get((provider, operation), 0),
            }
            for (provider, operation), rule in sorted(self._rules.items())
        ]

    def _match(self, provider: str, operation: str) -> tuple[tuple[str, str], FaultRule] | None:
        for key in ((provider, operation), (provider, ANY_OPERATION)):
            rule = self._rules.get(key)
            if rule is not None:
                return key, rule
        return None

    async def _apply(self, key: tuple[str, str], rule: FaultRule) -> None:
        if rule.latency_ms:
            await asyncio.sleep(rule.latency_ms / 1000)
        if rule.hang_seconds:
            await asyncio.sleep(rule.hang_seconds)
        if self._failures_left.get(key, 0) > 0:
            self._failures_left[key] -= 1
            raise InjectedFault(rule.error_status, rule.retry_after_seconds)
        if rule.error_rate and self._rng.random() < rule.error_rate:
            raise InjectedFault(rule.error_status, rule.retry_after_seconds)

    @asynccontextmanager
    async def gate(self, provider: str, operation: str) -> AsyncIterator[None]:
        """Wrap one operation of ``provider`` with the faults set for it."""
        matched = self._match(provider, operation)
        if matched is not None and not matched[1].after_processing:
            await self._apply(*matched)
        yield
        if matched is not None and matched[1].after_processing:
            await self._apply(*matched)

    def refuses_replays(self, provider: str, operation: str) -> bool:
        matched = self._match(provider, operation)
        return matched is not None and matched[1].refuse_replays

    def webhook_plan(self, provider: str) -> WebhookPlan:
        matched = self._match(provider, "webhooks")
        if matched is None:
            return WebhookPlan(copies=1, delay_seconds=0.0)
        rule = matched[1]
        return WebhookPlan(copies=1 + rule.duplicate_webhooks, delay_seconds=rule.webhook_delay_ms / 1000)

    def jitter(self, upper_seconds: float) -> float:
        return self._rng.uniform(0, upper_seconds)
