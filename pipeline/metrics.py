"""Prometheus metrics of the pipeline, exposed by the pipeline process on ``settings.pipeline.metrics_port``.

The same port answers the probes: ``/health/live`` and ``/health/ready`` (see ``lendflow.health``).
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge

from lendflow.health import ProcessHealth

# Live while the process's event loop turns; ready while its stages run.
HEALTH = ProcessHealth()

CONSUMED = Counter("lendflow_pipeline_consumed_total", "Messages a stage consumed.", ["stage", "event_type"])
DEDUPLICATED = Counter(
    "lendflow_pipeline_deduplicated_total", "Duplicate deliveries a stage dropped.", ["stage", "event_type"]
)
VALIDATED = Counter("lendflow_pipeline_validated_total", "Events published to the validated topic.", ["event_type"])
DEAD_LETTERED = Counter(
    "lendflow_pipeline_dead_lettered_total", "Messages sent to the DLQ.", ["stage", "event_type", "error_class"]
)
TRUSTED = Counter("lendflow_pipeline_trusted_total", "Events published to the trusted topic.", ["event_type"])
BRIDGED = Counter(
    "lendflow_pipeline_bridged_total",
    "Trusted events the bridge delivered: signalled to their workflow, or recorded as unmatched.",
    ["event_type", "outcome"],
)
OUTBOX_PUBLISHED = Counter(
    "lendflow_pipeline_outbox_published_total", "Outbox rows published to the events topic.", ["event_type"]
)
RETRIES = Counter("lendflow_pipeline_batch_retries_total", "Batches retried after a transient failure.", ["stage"])
PRUNED = Counter("lendflow_pipeline_pruned_rows_total", "Bookkeeping rows deleted past their retention.", ["table"])
REPLAYED = Counter(
    "lendflow_pipeline_dead_letters_replayed_total", "Dead letters replayed to incoming.", ["event_type"]
)
CONSUMER_LAG = Gauge(
    "lendflow_pipeline_consumer_lag", "Messages behind the partition's end.", ["group", "topic", "partition"]
)
CONSUMER_LAG_STALE = Gauge(
    "lendflow_pipeline_consumer_lag_stale",
    "1 while a stage cannot read its lag (the lag gauge then holds its last known figure), else 0.",
    ["group", "topic"],
)
LAG_READ_FAILURES = Counter(
    "lendflow_pipeline_lag_read_failures_total", "Times a stage could not read its consumer lag.", ["group", "topic"]
)
KAFKA_RECOVERIES = Counter(
    "lendflow_pipeline_kafka_recoveries_total",
    "Times a stage recovered from a Kafka failure (broker away, client fenced) instead of exiting.",
    ["stage", "error_code"],
)
