"""The event bridge: trusted events → Temporal signals to the workflow that waits for them.

:data:`ROUTES` maps each event type to a workflow id template and a signal name. The signal's
argument is the :class:`~pipeline.events.TrustedEvent`. A route may say how to start the workflow
when it does not exist yet (signal-with-start). Each signal carries the event id as its request id,
so the server applies a redelivered event once while the workflow runs (workflows also skip an
``event_id`` they have seen).

An event whose workflow is not found, or already closed, or that has no route, is recorded in
``unmatched_events`` — not lost — and its offset is committed like any other. Temporal being
unavailable is transient: the batch is retried with backoff.

Offsets are committed synchronously after a batch's signals were sent and recorded; one
workflow's events are signalled in their order, different workflows' concurrently.
"""

from __future__ import annotations

import asyncio
import json
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import structlog
from confluent_kafka import KafkaException, Message, TopicPartition
from pydantic import ValidationError
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.api.common.v1 import Payloads, WorkflowExecution, WorkflowType
from temporalio.api.enums.v1 import WorkflowIdConflictPolicy, WorkflowIdReusePolicy
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import (
    SignalWithStartWorkflowExecutionRequest,
    SignalWorkflowExecutionRequest,
)
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from lendflow.settings import Settings
from pipeline import metrics
from pipeline.dedupe import Claim, DedupeLedger, event_key
from pipeline.errors import TransientFailure, transient_as_failure
from pipeline.events import TrustedEvent
from pipeline.kafka import attempt_of, kafka_error, next_offsets, position
from pipeline.stage import ConsumingStage
from storage.models import UnmatchedEvent
from workflows.contracts import onboarding, origination, servicing

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class WorkflowStart:
    """How to start the route's workflow when it does not exist yet."""

    workflow: str  # the workflow type's name
    input: Callable[[TrustedEvent], Any]
    task_queue: str | None = None  # default: settings.temporal.task_queue


@dataclass(frozen=True)
class SignalRoute:
    """``workflow_id`` is a template over ``{customer_id}``, ``{application_id}`` and ``{subject}``."""

    workflow_id: str
    signal: str
    start: WorkflowStart | None = None

    def workflow_id_for(self, event: TrustedEvent) -> str:
        customer_id = (
            str(event.customer.customer_id) if event.customer else str(event.data.get("customer_id", event.subject))
        )
        application_id = str(event.application.application_id) if event.application else event.subject
        return self.workflow_id.format(customer_id=customer_id, application_id=application_id, subject=event.subject)


_DOCUMENT = SignalRoute(onboarding.WORKFLOW_ID_TEMPLATE, onboarding.DOCUMENT_VALIDATED)
_SIGNATURE = SignalRoute(origination.WORKFLOW_ID_TEMPLATE, origination.SIGNATURE_EVENT)
_PAYOUT = SignalRoute(origination.WORKFLOW_ID_TEMPLATE, origination.PAYOUT_EVENT)
_PAYMENT = SignalRoute(servicing.WORKFLOW_ID_TEMPLATE, servicing.PAYMENT_RECEIVED)

ROUTES: Mapping[str, SignalRoute] = {
    "document.submitted": _DOCUMENT,
    "esignature.envelope.signed": _SIGNATURE,
    "esignature.envelope.declined": _SIGNATURE,
    "esignature.envelope.expired": _SIGNATURE,
    "pix.payout.settled": _PAYOUT,
    "pix.payout.failed": _PAYOUT,
    "pix.charge.paid": _PAYMENT,
}


@dataclass
class _Delivery:
    message: Message
    claim: Claim
    event: TrustedEvent | None
    raw: bytes | None
    workflow_id: str = ""
    outcome: str | None = None  # signalled | unmatched


class EventBridge(ConsumingStage):
    name = "bridge"

    def __init__(
        self,
        settings: Settings,
        *,
        client: Client,
        ledger: DedupeLedger,
        session_maker: async_sessionmaker[AsyncSession],
        routes: Mapping[str, SignalRoute] = ROUTES,
    ) -> None:
        super().__init__(settings, group_id=settings.pipeline.groups.bridge, ledger=ledger)
        self.input_topic = settings.kafka.topics.trusted
        self.client = client
        self.routes = routes
        self._sessions = session_maker

    async def _handle(self, messages: list[Message]) -> None:
        deliveries = [self._read(message) for message in messages]
        with transient_as_failure():
            fresh, duplicates = await self.ledger.screen([d.claim for d in deliveries])
            fresh, late = await self.ledger.lookup(fresh)
            duplicates += late
            live_ids = {id(claim) for claim in fresh}
            live = [d for d in deliveries if id(d.claim) in live_ids]
            by_workflow: dict[str, list[_Delivery]] = defaultdict(list)
            for delivery in live:
                by_workflow[self._workflow_of(delivery)].append(delivery)
            results = await asyncio.gather(
                *(self._deliver_in_order(group) for group in by_workflow.values()), return_exceptions=True
            )
            failure = next((r for r in results if isinstance(r, BaseException)), None)
            if failure is not None:
                raise failure
            for delivery in live:
                delivery.claim.outcome = delivery.outcome
            await self.ledger.record([d.claim for d in live])
        await asyncio.to_thread(self._commit_offsets, next_offsets(messages))
        self.batches_committed += 1
        dropped = {id(claim) for claim in duplicates}
        for delivery in deliveries:
            event_type = delivery.event.type if delivery.event else "unknown"
            metrics.CONSUMED.labels(self.name, event_type).inc()
            if id(delivery.claim) in dropped:
                metrics.DEDUPLICATED.labels(self.name, event_type).inc()
            else:
                metrics.BRIDGED.labels(event_type, delivery.outcome or "unknown").inc()
        try:
            await self.ledger.confirm([d.claim for d in live])
        except Exception as exc:
            log.warning("pipeline.marks_not_confirmed", stage=self.name, error=str(exc)[:300])

    def _read(self, message: Message) -> _Delivery:
        try:
            event: TrustedEvent | None = TrustedEvent.model_validate_json(message.value() or b"")
        except ValidationError:
            event = None
        topic, partition, offset = position(message)
        key = event_key(event.event_id) if event else f"position:{topic}:{partition}:{offset}"
        claim = Claim(
            keys=(key,),
            event_type=event.type if event else "unknown",
            attempt=attempt_of(message),
            partition=partition,
            offset=offset,
        )
        return _Delivery(message=message, claim=claim, event=event, raw=message.value())

    def _workflow_of(self, delivery: _Delivery) -> str:
        if delivery.event is not None and (route := self.routes.get(delivery.event.type)) is not None:
            delivery.workflow_id = route.workflow_id_for(delivery.event)
        return delivery.workflow_id

    async def _deliver_in_order(self, deliveries: Sequence[_Delivery]) -> None:
        for delivery in deliveries:
            await self._deliver(delivery)

    async def _deliver(self, delivery: _Delivery) -> None:
        event = delivery.event
        if event is None:
            await self._unmatched(delivery, "", "", "the message is not a trusted event")
            return
        route = self.routes.get(event.type)
        if route is None:
            await self._unmatched(delivery, "", "", f"no route for {event.type}")
            return
        try:
            if route.start is None:
                await self._signal(delivery.workflow_id, route.signal, event)
            else:
                await self._signal_with_start(delivery.workflow_id, route, event)
        except RPCError as exc:
            if exc.status == RPCStatusCode.NOT_FOUND:
                await self._unmatched(delivery, delivery.workflow_id, route.signal, "workflow not found or closed")
                return
            if exc.status == RPCStatusCode.ALREADY_EXISTS:
                await self._unmatched(delivery, delivery.workflow_id, route.signal, "workflow already closed")
                return
            raise
        delivery.outcome = "signalled"
        log.info(
            "pipeline.bridged",
            event_id=event.event_id,
            event_type=event.type,
            workflow_id=delivery.workflow_id,
            signal=route.signal,
        )

    async def _signal(self, workflow_id: str, signal: str, event: TrustedEvent) -> None:
        payloads = await self.client.data_converter.encode([event])
        await self.client.workflow_service.signal_workflow_execution(
            SignalWorkflowExecutionRequest(
                namespace=self.client.namespace,
                workflow_execution=WorkflowExecution(workflow_id=workflow_id),
                signal_name=signal,
                input=Payloads(payloads=payloads),
                identity=self.client.identity,
                request_id=event.event_id,
            ),
            retry=True,
        )

    async def _signal_with_start(self, workflow_id: str, route: SignalRoute, event: TrustedEvent) -> None:
        assert route.start is not None
        start = route.start
        await self.client.workflow_service.signal_with_start_workflow_execution(
            SignalWithStartWorkflowExecutionRequest(
                namespace=self.client.namespace,
                workflow_id=workflow_id,
                workflow_type=WorkflowType(name=start.workflow),
                task_queue=TaskQueue(name=start.task_queue or self.settings.temporal.task_queue),
                input=Payloads(payloads=await self.client.data_converter.encode([start.input(event)])),
                identity=self.client.identity,
                request_id=event.event_id,
                # A closed workflow is not started again for a late event: it is recorded instead.
                workflow_id_reuse_policy=WorkflowIdReusePolicy.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
                workflow_id_conflict_policy=WorkflowIdConflictPolicy.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
                signal_name=route.signal,
                signal_input=Payloads(payloads=await self.client.data_converter.encode([event])),
            ),
            retry=True,
        )

    async def _unmatched(self, delivery: _Delivery, workflow_id: str, signal: str, reason: str) -> None:
        event = delivery.event
        payload: dict[str, Any]
        if event is not None:
            payload = json.loads(event.model_dump_json())
        else:
            payload = {"raw": (delivery.raw or b"").decode("utf-8", "replace")[:10_000]}
        async with self._sessions() as session, session.begin():
            await session.execute(
                insert(UnmatchedEvent)
                .values(
                    consumer=self.group_id,
                    event_id=delivery.claim.keys[0],
                    event_type=event.type if event else "unknown",
                    subject=event.subject if event else "",
                    workflow_id=workflow_id,
                    signal_name=signal,
                    reason=reason,
                    payload=payload,
                )
                .on_conflict_do_nothing(constraint="uq_unmatched_events_consumer_event")
            )
        delivery.outcome = "unmatched"
        log.warning(
            "pipeline.unmatched",
            event_id=delivery.claim.keys[0],
            event_type=event.type if event else "unknown",
            workflow_id=workflow_id,
            reason=reason,
        )

    def _commit_offsets(self, offsets: list[TopicPartition]) -> None:
        assert self._consumer is not None
        try:
            self._consumer.commit(offsets=offsets, asynchronous=False)
        except KafkaException as exc:
            error = kafka_error(exc)
            if error is not None and error.fatal():
                raise
            # A rebalance took partitions away mid-batch: whoever owns them now redoes the batch
            # (signals carry their event id as request id, so the workflow gets each once).
            raise TransientFailure(f"offsets not committed: {error}") from exc
