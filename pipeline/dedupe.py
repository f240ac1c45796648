"""Deduplication: Redis marks in front, PostgreSQL claims behind, Kafka transactions for the effect.

A message is known by its dedupe keys: its event id and, for a provider webhook, the provider's
delivery id. Each consuming stage (its consumer group is the ``consumer``) keeps, per key:

- a **claim** in PostgreSQL, a ``processed_events`` row unique on (consumer, key) that names the
  input position that owns it (partition, offset), the attempt and the outcome; and
- a **mark** in Redis (``{prefix}:{consumer}:{key}``, TTL ``redis.dedupe_ttl_seconds``), the same
  facts, written only once the effect is durable.

A transactional stage (validation, trusted) handles a batch in this order:

1. **screen**: marks in Redis → drop the messages already done (and repeats within the batch);
2. decide each survivor's output (validated / trusted, or a dead letter);
3. **claim** in PostgreSQL, one transaction: a key with no row is inserted, owned by this position;
   a row owned by this very position (our own earlier attempt that never committed) is taken
   over; a row with a lower attempt (a dead letter being replayed) is superseded; any other row
   means a duplicate, dropped;
4. the Kafka transaction: produce the outputs and commit the input offsets, atomically;
5. **confirm**: set the Redis marks.

Crash windows, and why none loses or doubles a message:

- before 3 commits: nothing is durable; the batch is redelivered and redone.
- between 3 and 4: the claims exist but the Kafka transaction never committed, so no output is
  visible (consumers read committed) and the input offsets were not committed. The batch is
  redelivered; each message finds its claim owned by its *own* position and redoes it. A copy of
  the message at a later offset cannot get ahead of it: same key → same partition, read in order,
  and the later offset is never committed before the earlier one.
- between 4 and 5: the effect and the offsets are committed; only the Redis marks are missing. A
  later copy finds no mark, but its claim conflicts with a row owned by another position → dropped
  as a duplicate (and the mark is written then). Same when Redis lost its data (flush, failover).
- a zombie (a consumer that lost its partitions mid-batch) may claim the same position as its
  successor; both own it, and only one Kafka transaction commits: the other is fenced.

So a claim, once written, is always either committed together with its effect or redone by the
position that owns it: the row is final exactly when its effect is.

The event bridge has no Kafka output to make atomic with its offsets; its effect is a Temporal
signal sent with the event id as the request id (the server applies a repeated request once). It
screens with Redis, looks claims up in PostgreSQL, signals, then **records** its rows, commits its
offsets and confirms its marks.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field

import redis.asyncio as aioredis
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from pipeline.errors import TransientFailure


class ClaimRace(TransientFailure):
    """Another consumer claimed a key while this batch was claiming it; the batch is redone."""


def event_key(event_id: uuid.UUID | str) -> str:
    return str(event_id)


def delivery_key(source: str, delivery_id: str) -> str:
    return f"delivery:{source}:{delivery_id}"


@dataclass
class Claim:
    """One message's claim on its dedupe keys."""

    keys: tuple[str, ...]
    event_type: str
    attempt: int
    partition: int
    offset: int
    outcome: str | None = None
    # Filled in by screen/claim: why the message is a duplicate, if it is one.
    duplicate_of: str | None = field(default=None, compare=False)

    @property
    def position(self) -> tuple[int, int]:
        return (self.partition, self.offset)


@dataclass(frozen=True)
class _Known:
    attempt: int
    outcome: str | None
    partition: int | None
    offset: int | None

    def encode(self) -> str:
        fields = (self.attempt, self.outcome, self.partition, self.offset)
        return "|".join("" if value is None else str(value) for value in fields)

    @classmethod
    def decode(cls, raw: bytes | str) -> _Known:
        text = raw.decode() if isinstance(raw, bytes) else raw
        attempt, outcome, partition, offset = (text.split("|") + ["", "", "", ""])[:4]
        return cls(
            attempt=int(attempt or 1),
            outcome=outcome or None,
            partition=int(partition) if partition else None,
            offset=int(offset) if offset else None,
        )


class DedupeLedger:
    """The dedupe state of one consumer (a stage's consumer group)."""

    def __init__(
        self,
        *,
        consumer: str,
        redis: aioredis.Redis,
        session_maker: async_sessionmaker[AsyncSession],
        ttl_seconds: int,
        key_prefix: str,
    ) -> None:
        self.consumer = consumer
        self._redis = redis
        self._sessions = session_maker
        self._ttl = ttl_seconds
        self._prefix = f"{key_prefix}:{consumer}:"

    def redis_key(self, key: str) -> str:
        return self._prefix + key

    async def screen(self, claims: Sequence[Claim]) -> tuple[list[Claim], list[Claim]]:
        """Drop what Redis knows is done, and repeats inside the batch: (survivors, duplicates)."""
        keys = sorted({key for claim in claims for key in claim.keys})
        marks = dict(zip(keys, await self._redis.mget([self.redis_key(k) for k in keys]), strict=True)) if keys else {}
        survivors: list[Claim] = []
        duplicates: list[Claim] = []
        in_batch: dict[str, int] = {}
        for claim in claims:
            reason = None
            for key in claim.keys:
                if key in in_batch and in_batch[key] >= claim.attempt:
                    reason = f"repeated in batch ({key})"
                    break
                raw = marks.get(key)
                if raw is not None and _Known.decode(raw).attempt >= claim.attempt:
                    reason = f"marked done in Redis ({key})"
                    break
            if reason:
                claim.duplicate_of = reason
                duplicates.append(claim)
                continue
            for key in claim.keys:
                in_batch[key] = max(in_batch.get(key, 0), claim.attempt)
            survivors.append(claim)
        return survivors, duplicates

    async def _rows(self, session: AsyncSession, keys: Sequence[str], *, lock: bool) -> dict[str, _Known]:
        if not keys:
            return {}
        rows = await session.execute(
            _SELECT_FOR_UPDATE if lock else _SELECT, {"consumer": self.consumer, "keys": list(keys)}
        )
        return {row.event_id: _Known(row.attempt, row.outcome, row.source_partition, row.source_offset) for row in rows}

    async def claim(self, claims: Sequence[Claim]) -> tuple[list[Claim], list[Claim]]:
        """Claim every key in PostgreSQL, committed before the Kafka transaction: (admitted, duplicates).

        Insert first (in the usual case every key is new: one statement), then settle the keys that
        already had a row, locked: taken over when owned by the same position or superseded by a
        higher attempt, a duplicate otherwise.
        """
        if not claims:
            return [], []
        pairs = [(key, claim) for claim in claims for key in claim.keys]
        async with self._sessions() as session, session.begin():
            inserted = set((await session.execute(_INSERT, self._columns(pairs))).scalars().all())
            existing = sorted({key for key, _ in pairs if key not in inserted})
            known = await self._rows(session, existing, lock=True)
            if len(known) != len(existing):
                raise ClaimRace("a conflicting claim vanished while this batch was claiming")
            admitted: list[Claim] = []
            duplicates: list[Claim] = []
            takeovers: list[tuple[str, Claim]] = []
            released: list[str] = []
            for claim in claims:
                reason = None
                for key in claim.keys:
                    row = known.get(key)
                    if row is None:
                        continue
                    own = (row.partition, row.offset) == claim.position and row.attempt == claim.attempt
                    if not own and row.attempt >= claim.attempt:
                        reason = f"claimed in PostgreSQL by {row.partition}:{row.offset} ({key})"
                        break
                if reason:
                    claim.duplicate_of = reason
                    duplicates.append(claim)
                    released += [key for key in claim.keys if key in inserted]
                    continue
                admitted.append(claim)
                for key in claim.keys:
                    if key in known:
                        takeovers.append((key, claim))
                        known[key] = _Known(claim.attempt, claim.outcome, claim.partition, claim.offset)
            if takeovers:
                await session.execute(_TAKE_OVER, self._columns(takeovers))
            if released:  # keys a duplicate inserted beside a key it lost on
                await session.execute(_RELEASE, {"consumer": self.consumer, "keys": released})
        return admitted, duplicates

    async def lookup(self, claims: Sequence[Claim]) -> tuple[list[Claim], list[Claim]]:
        """Without claiming: drop what PostgreSQL records as done (Redis may have lost it)."""
        if not claims:
            return [], []
        async with self._sessions() as session:
            known = await self._rows(session, sorted({k for c in claims for k in c.keys}), lock=False)
        fresh: list[Claim] = []
        duplicates: list[Claim] = []
        for claim in claims:
            hit = next((k for k in claim.keys if k in known and known[k].attempt >= claim.attempt), None)
            if hit is not None:
                claim.duplicate_of = f"recorded in PostgreSQL ({hit})"
                duplicates.append(claim)
            else:
                fresh.append(claim)
        return fresh, duplicates

    async def record(self, claims: Sequence[Claim]) -> None:
        """After the effect: record each key (a repeat of a recorded key changes nothing)."""
        if not claims:
            return
        async with self._sessions() as session, session.begin():
            await session.execute(_RECORD, self._columns([(key, claim) for claim in claims for key in claim.keys]))

    async def confirm(self, claims: Sequence[Claim]) -> None:
        """Set the Redis marks of claims whose effect is now durable (one round trip)."""
        keys: list[str] = []
        marks: list[str] = []
        for claim in claims:
            mark = _Known(claim.attempt, claim.outcome, claim.partition, claim.offset).encode()
            for key in claim.keys:
                keys.append(self.redis_key(key))
                marks.append(mark)
        if keys:
            await self._redis.eval(_SET_MARKS, len(keys), *keys, *marks, self._ttl)

    def _columns(self, pairs: Sequence[tuple[str, Claim]]) -> dict[str, object]:
        return {
            "consumer": self.consumer,
            "keys": [key for key, _ in pairs],
            "types": [claim.event_type for _, claim in pairs],
            "attempts": [claim.attempt for _, claim in pairs],
            "outcomes": [claim.outcome for _, claim in pairs],
            "partitions": [claim.partition for _, claim in pairs],
            "offsets": [claim.offset for _, claim in pairs],
        }


# One statement per step, whatever the batch size: the keys travel as arrays.
_COLUMNS = "event_id, event_type, attempt, outcome, source_partition, source_offset"
_UNNEST = (
    "unnest(CAST(:keys AS varchar[]), CAST(:types AS varchar[]), CAST(:attempts AS integer[]), "
    "CAST(:outcomes AS varchar[]), CAST(:partitions AS integer[]), CAST(:offsets AS bigint[])) "
    f"AS claim({_COLUMNS})"
)
_SELECT = text(
    f"SELECT {_COLUMNS} FROM processed_events WHERE consumer = :consumer AND event_id = ANY(CAST(:keys AS varchar[]))"
)
_SELECT_FOR_UPDATE = text(_SELECT.text + " FOR UPDATE")
_INSERT = text(
    f"INSERT INTO processed_events (consumer, {_COLUMNS}) SELECT :consumer, {_COLUMNS} FROM {_UNNEST} "
    "ON CONFLICT ON CONSTRAINT uq_processed_events_consumer_event DO NOTHING RETURNING event_id"
)
_TAKE_OVER = text(
    "UPDATE processed_events AS p SET event_type = claim.event_type, attempt = claim.attempt, "
    "outcome = claim.outcome, source_partition = claim.source_partition, source_offset = claim.source_offset "
    f"FROM {_UNNEST} WHERE p.consumer = :consumer AND p.event_id = claim.event_id"
)
_RELEASE = text("DELETE FROM processed_events WHERE consumer = :consumer AND event_id = ANY(CAST(:keys AS varchar[]))")
_RECORD = text(
    f"INSERT INTO processed_events (consumer, {_COLUMNS}) SELECT :consumer, {_COLUMNS} FROM {_UNNEST} "
    "ON CONFLICT ON CONSTRAINT uq_processed_events_consumer_event DO UPDATE SET attempt = EXCLUDED.attempt, "
    "outcome = EXCLUDED.outcome, source_partition = EXCLUDED.source_partition, source_offset = EXCLUDED.source_offset "
    "WHERE processed_events.attempt < EXCLUDED.attempt"
)
# KEYS: the mark keys; ARGV: one mark per key, then the TTL in seconds.
_SET_MARKS = """
local ttl = ARGV[#ARGV]
for i = 1, #KEYS do
  redis.call('SET', KEYS[i], ARGV[i], 'EX', ttl)
end
return #KEYS
"""
