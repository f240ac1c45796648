"""Poison messages, dead letters and their replay, through the library and through `lendflow dlq`."""

from __future__ import annotations

import asyncio
import uuid
from decimal import Decimal

import pytest
from confluent_kafka import Producer
from pipeline_support import (
    LenderRecords,
    charge_paid,
    event_ids,
    new_txid,
    read,
    read_to_end,
    running,
    validated_and_trusted,
    validated_only,
)
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from typer.testing import CliRunner

from lendflow.cli import app
from lendflow.settings import Settings
from pipeline.dlq import DeadLetterReplayer, Letter, read_letters
from pipeline.intake import EventProducer
from pipeline.kafka import ATTEMPT_HEADER, DLQ_ATTEMPT, DLQ_ERROR_CLASS, DLQ_ERROR_MESSAGE, DLQ_STAGE
from pipeline.runner import PipelineParts
from storage.models import DeadLetterReplay, PixCharge, ProcessedEvent


async def test_a_poison_message_lands_in_the_dlq_with_its_error_and_the_stream_goes_on(
    parts: PipelineParts, pipeline_settings: Settings, producer: EventProducer, records: LenderRecords
) -> None:
    topics = pipeline_settings.kafka.topics
    application = await records.application(status="disbursed")
    charge = await records.charge(application)
    before = charge_paid(charge)
    after = [charge_paid(charge) for _ in range(3)]
    poison = b"\x00\xffnot json at all " + uuid.uuid4().bytes
    not_an_envelope = b'{"hello": "world"}'

    await producer.publish(before)
    await producer.publish_raw(str(application.id).encode(), poison)
    await producer.publish_raw(str(application.id).encode(), not_an_envelope)
    for event in after:
        await producer.publish(event)
    async with running(parts, "validation", "trusted"):
        _, trusted = await validated_and_trusted(pipeline_settings)
        letters = await read_to_end(pipeline_settings, topics.dlq)

    # Same subject, same partition: the events after the poison came through, in order.
    assert event_ids(trusted) == [str(e.event_id) for e in [before, *after]]
    by_value = {letter.value: letter for letter in letters}
    assert len(letters) == 2 and set(by_value) == {poison, not_an_envelope}
    assert by_value[poison].headers[DLQ_ERROR_CLASS] == "NotJson"
    assert by_value[not_an_envelope].headers[DLQ_ERROR_CLASS] == "NotAnEnvelope"
    assert "event_id" in by_value[not_an_envelope].headers[DLQ_ERROR_MESSAGE]
    assert all(letter.headers[DLQ_STAGE] == "validation" for letter in letters)
    assert all(letter.key == str(application.id).encode() for letter in letters)


async def test_a_replayed_dead_letter_is_applied_once(
    parts: PipelineParts,
    pipeline_settings: Settings,
    producer: EventProducer,
    records: LenderRecords,
    session_maker: async_sessionmaker[AsyncSession],
) -> None:
    topics = pipeline_settings.kafka.topics
    application = await records.application(status="disbursed")
    txid = new_txid()
    # The payment arrives before the charge is recorded: dead-lettered.
    early = charge_paid(PixCharge(txid=txid, application_id=application.id, amount=Decimal("1093.72")))
    await producer.publish(early)
    replayer = DeadLetterReplayer(pipeline_settings, session_maker)

    async with running(parts, "validation", "trusted"):
        [letter] = await read(pipeline_settings, topics.dlq, until=1)
        assert letter.headers[DLQ_ERROR_CLASS] == "ChargeMismatch"
        await records.charge(application, txid=txid)  # now the charge exists
        [dead] = await _letters(pipeline_settings)
        first = await replayer.replay([dead])
        second = await replayer.replay([dead])
        forced = await replayer.replay([dead], force=True)
        # The replayer returns once the broker has acknowledged the replays: incoming's end is known.
        _, trusted = await validated_and_trusted(pipeline_settings)
        replays = await read_to_end(pipeline_settings, topics.incoming)
        letters = await read_to_end(pipeline_settings, topics.dlq)

    assert [o.status for o in first + second + forced] == ["replayed", "already_replayed", "replayed"]
    assert event_ids(trusted) == [str(early.event_id)]
    assert trusted[0].headers[ATTEMPT_HEADER] == "2"
    # The original plus two replays (one forced) reached incoming: applied once all the same.
    assert [r.headers.get(ATTEMPT_HEADER) for r in sorted(replays, key=lambda r: r.offset)] == ["1", "2", "2"]
    assert all(r.value == early.to_bytes() for r in replays)
    assert [(r.partition, r.offset) for r in letters] == [(letter.partition, letter.offset)]  # no new letter
    async with session_maker() as session:
        claim = await session.scalar(
            select(ProcessedEvent).where(
                ProcessedEvent.consumer == pipeline_settings.pipeline.groups.validation,
                ProcessedEvent.event_id == str(early.event_id),
            )
        )
        replay_rows = (
            await session.scalars(select(DeadLetterReplay).where(DeadLetterReplay.event_id == str(early.event_id)))
        ).all()
    assert claim is not None and (claim.attempt, claim.outcome) == (2, "validated")
    assert len(replay_rows) == 1


async def _letters(settings: Settings) -> list[Letter]:
    return await asyncio.to_thread(read_letters, settings)


async def test_a_letter_that_used_up_its_attempts_is_not_replayed(
    pipeline_settings: Settings, producer: EventProducer, session_maker: async_sessionmaker[AsyncSession]
) -> None:
    settings = pipeline_settings.model_copy(
        update={"pipeline": pipeline_settings.pipeline.model_copy(update={"max_attempts": 3})}
    )
    raw = Producer({"bootstrap.servers": settings.kafka.bootstrap_servers})
    for attempt in (2, 3):
        raw.produce(
            settings.kafka.topics.dlq,
            key=b"k",
            value=f"letter {attempt}".encode(),
            headers=[(DLQ_ATTEMPT, str(attempt).encode()), (DLQ_STAGE, b"validation")],
        )
    raw.flush(10)
    letters = sorted(await _letters(settings), key=lambda letter: letter.attempt)

    outcomes = await DeadLetterReplayer(settings, session_maker).replay(letters)

    assert [(o.letter.attempt, o.status) for o in outcomes] == [(3, "attempts_exhausted"), (2, "replayed")]


@pytest.fixture
def cli_settings(pipeline_settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.setattr("lendflow.commands.pipeline.get_settings", lambda: pipeline_settings)
    return pipeline_settings


async def test_ops_list_show_and_replay_dead_letters_from_the_command_line(
    cli_settings: Settings, producer: EventProducer, parts: PipelineParts, records: LenderRecords
) -> None:
    application = await records.application(status="disbursed")
    unknown_charge = charge_paid(PixCharge(txid=new_txid(), application_id=application.id, amount=Decimal("10.00")))
    await producer.publish(unknown_charge)
    async with running(parts, "validation"):
        await validated_only(cli_settings)
        [letter] = await read_to_end(cli_settings, cli_settings.kafka.topics.dlq)
    letter_id = f"{letter.partition}:{letter.offset}"
    runner = CliRunner()

    listed = await asyncio.to_thread(runner.invoke, app, ["dlq", "list"])
    shown = await asyncio.to_thread(runner.invoke, app, ["dlq", "show", letter_id])
    replayed = await asyncio.to_thread(runner.invoke, app, ["dlq", "replay", letter_id])
    again = await asyncio.to_thread(runner.invoke, app, ["dlq", "replay", letter_id])
    missing = await asyncio.to_thread(runner.invoke, app, ["dlq", "show", "0:999999"])

    assert listed.exit_code == 0, listed.output
    assert letter_id in listed.output and "ChargeMismatch" in listed.output
    assert str(unknown_charge.event_id) in listed.output
    assert shown.exit_code == 0, shown.output
    assert unknown_charge.data["txid"] in shown.output and DLQ_ERROR_CLASS in shown.output
    assert replayed.exit_code == 0 and "1 replayed" in replayed.output
    assert again.exit_code == 0 and "already_replayed" in again.output
    assert missing.exit_code == 1
    replays = await read_to_end(cli_settings, cli_settings.kafka.topics.incoming)
    assert [r.headers.get(ATTEMPT_HEADER) for r in sorted(replays, key=lambda r: r.offset)] == ["1", "2"]


async def test_ops_page_through_a_long_dead_letter_queue_from_the_command_line(cli_settings: Settings) -> None:
    raw = Producer({"bootstrap.servers": cli_settings.kafka.bootstrap_servers})
    for n in range(5):
        stage = b"trusted" if n == 3 else b"validation"
        raw.produce(
            cli_settings.kafka.topics.dlq,
            partition=0,
            key=b"k",
            value=f"letter {n}".encode(),
            headers=[(DLQ_ATTEMPT, b"1"), (DLQ_STAGE, stage), (DLQ_ERROR_CLASS, f"Error{n}".encode())],
        )
    raw.flush(10)
    runner = CliRunner()

    def listed(*args: str) -> tuple[list[str], list[str]]:
        result = runner.invoke(app, ["dlq", "list", *args])
        assert result.exit_code == 0, result.output
        errors = [word for word in result.output.split() if word.startswith("Error")]
        more = [
            line.removeprefix("more: lendflow dlq list ")
            for line in result.output.splitlines()
            if line.startswith("more:")
        ]
        return errors, more

    first, [after_first] = await asyncio.to_thread(listed, "--limit", "2")
    second, [after_second] = await asyncio.to_thread(listed, "--limit", "2", *after_first.split())
    last, no_more = await asyncio.to_thread(listed, "--limit", "2", *after_second.split())
    trusted, _ = await asyncio.to_thread(listed, "--stage", "trusted")
    bad = await asyncio.to_thread(runner.invoke, app, ["dlq", "list", "--after", "two"])

    assert first == ["Error0", "Error1"] and after_first == "--after 0:2"
    assert second == ["Error2", "Error3"]
    assert last == ["Error4"] and no_more == []
    assert trusted == ["Error3"]
    assert bad.exit_code == 2 and "PARTITION:OFFSET" in bad.output
