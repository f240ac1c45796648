"""Dead letters are paged by partition and offset: every letter is reachable however deep in the
topic it is, a page reads from where the previous one stopped, and a page the time budget cut short
says so and can be continued. Each test has a DLQ topic of its own, so it knows every letter in it."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
from confluent_kafka import KafkaError, Message, Producer
from confluent_kafka.admin import AdminClient, NewTopic
from stack_support import serve_over_asgi
from test_ops import ops_login

from lendflow.services import await_readable, drop_topics
from lendflow.settings import Settings
from pipeline.dlq import LetterPosition, read_letter_page
from pipeline.kafka import DLQ_ATTEMPT, DLQ_ERROR_CLASS, DLQ_EVENT_ID, DLQ_STAGE
from storage.keyset import Cursor

PROBLEM = "application/problem+json"
PARTITIONS = 3


@pytest.fixture
def dlq_settings(api_settings: Settings) -> Iterator[Settings]:
    """The API's settings with a DLQ topic of this test's own, of three partitions."""
    topic = f"lending.dlq.v1.paging-{uuid.uuid4().hex[:10]}"
    admin = AdminClient({"bootstrap.servers": api_settings.kafka.bootstrap_servers})
    for future in admin.create_topics([NewTopic(topic, num_partitions=PARTITIONS, replication_factor=1)]).values():
        future.result(30)
    await_readable(api_settings.kafka.bootstrap_servers, [topic], timeout=30)
    yield api_settings.model_copy(
        update={
            "kafka": api_settings.kafka.model_copy(
                update={"topics": api_settings.kafka.topics.model_copy(update={"dlq": topic})}
            ),
        }
    )
    drop_topics(api_settings, [topic])


@pytest.fixture
async def ops_api(dlq_settings: Settings, new_operator: Any) -> AsyncIterator[tuple[httpx.AsyncClient, dict[str, str]]]:
    async with serve_over_asgi(dlq_settings) as api:
        yield api, await ops_login(api, await new_operator())


def _letter_headers(event_id: str) -> list[tuple[str, bytes]]:
    return [
        (DLQ_STAGE, b"validation"),
        (DLQ_ERROR_CLASS, b"NotAnEnvelope"),
        (DLQ_ATTEMPT, b"1"),
        (DLQ_EVENT_ID, event_id.encode()),
    ]


def _produce(producer: Producer, topic: str, event_ids: list[str], *, partition: int | None = None) -> None:
    """Produce one letter per event id (to ``partition``, or by key) and wait until each is acknowledged."""
    errors: list[KafkaError] = []

    def delivered(error: KafkaError | None, message: Message) -> None:
        if error is not None:
            errors.append(error)

    for event_id in event_ids:
        extra = {"partition": partition} if partition is not None else {}
        producer.produce(
            topic,
            key=event_id.encode(),
            value=b'{"not": "an envelope"}',
            headers=_letter_headers(event_id),
            on_delivery=delivered,
            **extra,
        )
    assert producer.flush(10) == 0 and not errors


def _plain_producer(settings: Settings) -> Producer:
    return Producer({"bootstrap.servers": settings.kafka.bootstrap_servers, "enable.idempotence": True})


async def _pages(api: httpx.AsyncClient, headers: dict[str, str], url: str | None) -> list[dict[str, Any]]:
    pages: list[dict[str, Any]] = []
    while url:
        response = await api.get(url, headers=headers)
        assert response.status_code == 200, response.text
        pages.append(response.json())
        url = response.json()["next"]
    return pages


async def test_every_letter_is_listed_once_in_partition_and_offset_order_across_pages(
    dlq_settings: Settings, ops_api: tuple[httpx.AsyncClient, dict[str, str]]
) -> None:
    api, ops = ops_api
    event_ids = [str(uuid.uuid4()) for _ in range(25)]
    await asyncio.to_thread(_produce, _plain_producer(dlq_settings), dlq_settings.kafka.topics.dlq, event_ids)

    pages = await _pages(api, ops, "/v1/ops/dead-letters?limit=4")

    listed = [item for page in pages for item in page["items"]]
    positions = [(item["partition"], item["offset"]) for item in listed]
    assert sorted(item["event_id"] for item in listed) == sorted(event_ids)
    assert positions == sorted(set(positions))  # each once, by partition then offset
    assert len({p for p, _ in positions}) > 1  # the pages walked across partitions
    assert [len(page["items"]) for page in pages] == [4, 4, 4, 4, 4, 4, 1]
    assert not any(page["partial"] for page in pages)
    assert all(page["partial_reason"] is None for page in pages)


async def test_a_page_starts_where_its_cursor_points_however_deep_in_the_topic(dlq_settings: Settings) -> None:
    topic = dlq_settings.kafka.topics.dlq
    early, late = [str(uuid.uuid4()) for _ in range(30)], [str(uuid.uuid4()) for _ in range(3)]
    producer = _plain_producer(dlq_settings)
    await asyncio.to_thread(_produce, producer, topic, early, partition=2)
    await asyncio.to_thread(_produce, producer, topic, late, partition=2)

    # The old listing read a bounded number of letters from the start and filtered them: with that
    # bound below 30, the letters after offset 30 could never be listed. A page now seeks there.
    page = await asyncio.to_thread(
        read_letter_page, dlq_settings, start=LetterPosition(partition=2, offset=30), limit=2
    )
    rest = await asyncio.to_thread(read_letter_page, dlq_settings, start=page.resume_at, limit=2)

    assert [letter.event_id for letter in page.letters] == late[:2]
    assert page.resume_at == LetterPosition(partition=2, offset=32) and not page.partial
    assert [letter.event_id for letter in rest.letters] == late[2:]
    assert rest.resume_at is None and not rest.partial


async def test_a_page_cut_short_by_its_budget_says_so_and_its_next_link_continues(
    dlq_settings: Settings, ops_api: tuple[httpx.AsyncClient, dict[str, str]]
) -> None:
    api, ops = ops_api
    event_ids = [str(uuid.uuid4()) for _ in range(7)]
    await asyncio.to_thread(_produce, _plain_producer(dlq_settings), dlq_settings.kafka.topics.dlq, event_ids)
    first = await api.get("/v1/ops/dead-letters?limit=2", headers=ops)
    assert first.status_code == 200, first.text
    # A reader whose budget is spent before it reads anything: a slow or overloaded broker.
    hurried = dlq_settings.model_copy(
        update={"api": dlq_settings.api.model_copy(update={"dead_letter_scan_seconds": 1e-6})}
    )

    async with serve_over_asgi(hurried) as hurried_api:
        cut = await hurried_api.get(first.json()["next"], headers=ops)
    rest = await _pages(api, ops, cut.json()["next"])

    assert cut.status_code == 200, cut.text
    page = cut.json()
    assert page["partial"] is True and page["partial_reason"]
    assert page["items"] == [] and page["next"]
    listed = first.json()["items"] + [item for p in rest for item in p["items"]]
    assert sorted(item["event_id"] for item in listed) == sorted(event_ids)
    assert len(listed) == len(event_ids)
    assert not any(p["partial"] for p in rest) and rest[-1]["next"] is None


@pytest.mark.parametrize(
    "cursor",
    [Cursor(key="not-a-position").encode(), Cursor(key="1:").encode(), Cursor(key="-1:5").encode(), "%%%"],
)
async def test_a_cursor_that_is_no_position_answers_422_problem(
    ops_api: tuple[httpx.AsyncClient, dict[str, str]], cursor: str
) -> None:
    api, ops = ops_api

    response = await api.get("/v1/ops/dead-letters", params={"cursor": cursor}, headers=ops)

    assert response.status_code == 422
    assert response.headers["content-type"] == PROBLEM
