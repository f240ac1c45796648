"""Delivers the simulator's webhooks: signed, in the background, retried with backoff.

Each event is one JSON body (:class:`integrations.webhooks.WebhookEvent`) POSTed to
``{target_base_url}{provider}``; every attempt is signed afresh (new timestamp) with the
provider's current secret, and repeats the event id. A delivery that fails (connection error or
a non-2xx answer) is retried up to ``max_attempts`` times, waiting ``retry_base_seconds`` × 2ⁿ.
Fault rules on operation ``webhooks`` add copies (duplicates) and delay. Nothing here ever blocks
the request that caused the event.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
import structlog
from pydantic import SecretStr

from integrations.webhooks import WebhookEvent, sign_webhook
from simulator.faults import FaultBook

log = structlog.get_logger(__name__)


@dataclass
class DeliveryAttempt:
    event_id: str
    provider: str
    event_type: str
    copy: int
    attempt: int
    target: str
    status_code: int | None
    error: str | None
    at: str


def new_event_id() -> str:
    return f"evt_{uuid.uuid4().hex}"


class WebhookSender:
    def __init__(
        self,
        *,
        target_base_url: str,
        secrets_by_provider: Mapping[str, Sequence[SecretStr]],
        faults: FaultBook,
        max_attempts: int = 5,
        retry_base_seconds: float = 0.5,
        timeout_seconds: float = 5.0,
    ) -> None:
        self._target_base_url = target_base_url if target_base_url.endswith("/") else target_base_url + "/"
        self._secrets = {provider: list(secrets) for provider, secrets in secrets_by_provider.items()}
        self._faults = faults
        self._max_attempts = max_attempts
        self._retry_base_seconds = retry_base_seconds
        self._timeout_seconds = timeout_seconds
        self._client: httpx.AsyncClient | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self.attempts: deque[DeliveryAttempt] = deque(maxlen=2000)

    async def start(self) -> None:
        self._client = httpx.AsyncClient(timeout=self._timeout_seconds, follow_redirects=False)

    async def stop(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    def target_for(self, provider: str) -> str:
        return f"{self._target_base_url}{provider}"

    def emit(self, provider: str, event_type: str, data: dict[str, Any]) -> str:
        """Schedule delivery of one event and return its id at once."""
        if not self._secrets.get(provider):
            raise RuntimeError(f"no webhook secret configured for {provider}")
        event = WebhookEvent(
            id=new_event_id(),
            type=event_type,
            provider=provider,
            created_at=datetime.now(UTC),
            data=data,
        )
        body = json.dumps(event.model_dump(mode="json"), separators=(",", ":")).encode()
        plan = self._faults.webhook_plan(provider)
        for copy in range(plan.copies):
            delay = plan.delay_seconds
            if copy > 0:
                # Copies wander a little so that deliveries can overtake one another.
                delay += self._faults.jitter(max(plan.delay_seconds, 0.05))
            task = asyncio.create_task(self._deliver(event, body, copy, delay))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        log.info(
            "simulator.webhook.scheduled",
            provider=provider,
            event_type=event_type,
            event_id=event.id,
            copies=plan.copies,
        )
        return event.id

    async def _deliver(self, event: WebhookEvent, body: bytes, copy: int, delay: float) -> None:
        if delay:
            await asyncio.sleep(delay)
        target = self.target_for(event.provider)
        for attempt in range(1, self._max_attempts + 1):
            headers = sign_webhook(
                body,
                secrets=self._secrets[event.provider][:1],
                webhook_id=event.id,
                event_type=event.type,
            )
            status_code: int | None = None
            error: str | None = None
            try:
                assert self._client is not None, "the webhook sender is not started"
                response = await self._client.post(target, content=body, headers=headers)
                status_code = response.status_code
            except httpx.HTTPError as exc:
                error = type(exc).__name__
            self.attempts.append(
                DeliveryAttempt(
                    event_id=event.id,
                    provider=event.provider,
                    event_type=event.type,
                    copy=copy,
                    attempt=attempt,
                    target=target,
                    status_code=status_code,
                    error=error,
                    at=datetime.now(UTC).isoformat(),
                )
            )
            if status_code is not None and 200 <= status_code < 300:
                return
            if attempt < self._max_attempts:
                await asyncio.sleep(self._retry_base_seconds * 2 ** (attempt - 1))
        log.warning(
            "simulator.webhook.gave_up", provider=event.provider, event_id=event.id, attempts=self._max_attempts
        )

    def attempt_log(self) -> list[dict[str, Any]]:
        return [asdict(attempt) for attempt in self.attempts]
