"""The Kafka event pipeline: every outside event on its way to the workflow that waits for it.

    lending.incoming.v1 ──validation (dedupe + checks)──> lending.validated.v1 ──trusted──> lending.trusted.v1
                                  └──────────────> lending.dlq.v1 <──────────────┘              │
                                                                                   event bridge ─┴─> Temporal signals
    outbox_events (PostgreSQL) ──outbox relay──> lending.events.v1

Modules: :mod:`pipeline.events` (envelope and schemas, pure), :mod:`pipeline.intake` (producing to
incoming), :mod:`pipeline.dedupe` (Redis marks and PostgreSQL claims, and why no crash doubles or
loses a message), :mod:`pipeline.stage` (the transactional consume-produce loop),
:mod:`pipeline.validation`, :mod:`pipeline.trusted`, :mod:`pipeline.bridge`, :mod:`pipeline.outbox`,
:mod:`pipeline.dlq` (dead letters and their replay), :mod:`pipeline.runner` (``lendflow pipeline``).
"""
