"""LGPD in Temporal's history: a failure's message and stack trace are encrypted like any payload.

An activity raises with a CPF, a name and an e-mail in its message, through a real worker on the
shared Temporal server. Read raw (a client without the project's codec), neither the history nor a
pending activity's ``last_failure`` holds any of them; read with the project's data converter (as
the worker, the API, the CLI and the codec endpoint do), the message is whole again.
"""

from __future__ import annotations

import asyncio
import random
import string
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta

import pytest
from google.protobuf.json_format import MessageToJson
from stack_support import new_cpf
from temporalio import activity, workflow
from temporalio.api.failure.v1 import Failure
from temporalio.client import Client, WorkflowFailureError
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError
from temporalio.worker import Worker

from lendflow.settings import Settings
from lendflow.temporal import data_converter, failure_message


@dataclass
class PixKeyLookup:
    customer_id: str
    cpf: str
    holder_name: str
    email: str
    attempts: int


class PixKeyRefused(Exception):
    pass


@activity.defn(name="test_failure_encryption_lookup")
async def look_up_pix_key(lookup: PixKeyLookup) -> None:
    raise PixKeyRefused(f"PSP refused key {lookup.cpf} of {lookup.holder_name} <{lookup.email}>")


@workflow.defn(name="TestFailureEncryptionWorkflow", sandboxed=False)
class PixKeyWorkflow:
    @workflow.run
    async def run(self, lookup: PixKeyLookup) -> None:
        try:
            await workflow.execute_activity(
                look_up_pix_key,
                lookup,
                start_to_close_timeout=timedelta(seconds=10),
                retry_policy=RetryPolicy(
                    initial_interval=timedelta(milliseconds=100),
                    backoff_coefficient=1,
                    maximum_attempts=lookup.attempts,
                ),
            )
        except ActivityError as error:
            # A workflow that words its own failure with the customer's data: encrypted as well.
            raise ApplicationError(f"no payout for {lookup.cpf}", type="PixKeyInvalid", non_retryable=True) from error


def _secrets(lookup: PixKeyLookup) -> list[str]:
    cpf = lookup.cpf
    return [cpf, f"{cpf[:3]}.{cpf[3:6]}.{cpf[6:9]}-{cpf[9:]}", lookup.holder_name, lookup.email]


def _lookup(attempts: int) -> PixKeyLookup:
    suffix = "".join(random.choices(string.ascii_lowercase, k=8))
    return PixKeyLookup(
        customer_id=str(uuid.uuid4()),
        cpf=new_cpf(min_score=0),
        holder_name=f"Joana Falha {suffix.capitalize()}",
        email=f"joana.{suffix}@example.com",
        attempts=attempts,
    )


@pytest.fixture
async def raw_client(settings: Settings) -> Client:
    """A client that reads what Temporal stores, as anyone with access to the cluster would."""
    return await Client.connect(settings.temporal.address, namespace=settings.temporal.namespace)


@pytest.fixture
async def task_queue_with_worker(temporal_client: Client) -> AsyncIterator[str]:
    task_queue = f"test-failure-encryption-{uuid.uuid4()}"
    async with Worker(temporal_client, task_queue=task_queue, workflows=[PixKeyWorkflow], activities=[look_up_pix_key]):
        yield task_queue


async def test_failure_text_in_history_is_encrypted_and_decodes_with_the_project_keys(
    settings: Settings, temporal_client: Client, raw_client: Client, task_queue_with_worker: str
) -> None:
    lookup = _lookup(attempts=2)
    workflow_id = f"test-failure-encryption-{uuid.uuid4()}"
    with pytest.raises(WorkflowFailureError) as failed:
        await temporal_client.execute_workflow(
            PixKeyWorkflow.run, lookup, id=workflow_id, task_queue=task_queue_with_worker
        )

    # Through the project's converter (the API's and CLI's client), the failure reads whole.
    workflow_error = failed.value.cause
    assert isinstance(workflow_error, ApplicationError) and workflow_error.type == "PixKeyInvalid"
    assert lookup.cpf in workflow_error.message
    activity_error = workflow_error.__cause__
    assert isinstance(activity_error, ActivityError)
    assert isinstance(activity_error.cause, ApplicationError) and activity_error.cause.type == "PixKeyRefused"
    assert lookup.holder_name in activity_error.cause.message and lookup.email in activity_error.cause.message

    # Raw, nothing personal anywhere in the history: not in a message, a stack trace or a payload.
    history = await raw_client.get_workflow_handle(workflow_id).fetch_history()
    raw = history.to_json()
    for secret in _secrets(lookup):
        assert secret not in raw
    failures = [
        event.workflow_execution_failed_event_attributes.failure
        for event in history.events
        if event.HasField("workflow_execution_failed_event_attributes")
    ]
    assert len(failures) == 1
    stored = failures[0]
    # The failure's kind stays readable for ops; its words are sealed in the encrypted attributes.
    assert stored.application_failure_info.type == "PixKeyInvalid"
    assert stored.cause.cause.application_failure_info.type == "PixKeyRefused"
    assert stored.HasField("encoded_attributes") and stored.cause.cause.HasField("encoded_attributes")
    assert stored.encoded_attributes.metadata["encoding"] == b"binary/encrypted"
    assert stored.stack_trace == "" and stored.cause.cause.stack_trace == ""

    # With the project's keys, the same raw protos decode to the messages.
    converter = data_converter(settings.temporal)
    assert lookup.cpf in await failure_message(converter, stored)
    assert lookup.holder_name in await failure_message(converter, stored.cause.cause)
    # failure_message leaves the proto it reads as it found it.
    assert stored.HasField("encoded_attributes") and lookup.cpf not in MessageToJson(stored)


async def test_a_pending_activitys_last_failure_is_encrypted_and_decodes_for_ops(
    temporal_client: Client, raw_client: Client, task_queue_with_worker: str
) -> None:
    lookup = _lookup(attempts=0)  # retries until terminated, as a provider outage would
    handle = await temporal_client.start_workflow(
        PixKeyWorkflow.run, lookup, id=f"test-failure-encryption-{uuid.uuid4()}", task_queue=task_queue_with_worker
    )
    try:
        last_failure = await _last_failure_after_a_retry(raw_client, handle.id)
        assert lookup.cpf not in MessageToJson(last_failure)
        assert lookup.holder_name not in MessageToJson(last_failure)
        assert last_failure.application_failure_info.type == "PixKeyRefused"
        readable = await failure_message(temporal_client.data_converter, last_failure)
        assert lookup.cpf in readable and lookup.email in readable
    finally:
        await handle.terminate("test over")


async def _last_failure_after_a_retry(client: Client, workflow_id: str) -> Failure:
    for _ in range(200):
        described = await client.get_workflow_handle(workflow_id).describe()
        for pending in described.raw_description.pending_activities:
            if pending.attempt >= 2 and pending.HasField("last_failure"):
                return pending.last_failure
        await asyncio.sleep(0.05)
    raise AssertionError("the activity never reported a failed attempt")
