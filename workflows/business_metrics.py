"""Business counters the workflows emit through Temporal's metric meter.

The meter is replay-safe (nothing is counted again when a history replays) and is exported with
the SDK's own metrics by the worker's Prometheus endpoint. Names are those the Grafana funnel uses.
"""

from __future__ import annotations

from decimal import Decimal

from temporalio import workflow

CUSTOMERS_ONBOARDED = "lendflow_customers_onboarded"
APPLICATIONS_STARTED = "lendflow_applications_started"
APPLICATIONS_APPROVED = "lendflow_applications_approved"
APPLICATIONS_DECLINED = "lendflow_applications_declined"
APPLICATIONS_SENT_TO_REVIEW = "lendflow_applications_sent_to_review"
APPLICATIONS_DISBURSED = "lendflow_applications_disbursed"
APPLICATIONS_FAILED = "lendflow_applications_failed"
DISBURSED_CENTAVOS = "lendflow_disbursed_centavos"
COMPENSATIONS = "lendflow_compensations"
# A step that paused for ops (a provider that keeps failing, a payout key to correct), by step.
STEPS_PAUSED = "lendflow_steps_paused"

ALL = (
    CUSTOMERS_ONBOARDED,
    APPLICATIONS_STARTED,
    APPLICATIONS_APPROVED,
    APPLICATIONS_DECLINED,
    APPLICATIONS_SENT_TO_REVIEW,
    APPLICATIONS_DISBURSED,
    APPLICATIONS_FAILED,
    DISBURSED_CENTAVOS,
    COMPENSATIONS,
    STEPS_PAUSED,
)


def count(name: str, value: int = 1, **attributes: str) -> None:
    meter = workflow.metric_meter()
    if attributes:
        meter = meter.with_additional_attributes(attributes)
    meter.create_counter(name).add(value)


def count_disbursed(amount: Decimal) -> None:
    """Money in a metric is whole centavos: an integer counter, never a float."""
    count(DISBURSED_CENTAVOS, int((amount * 100).to_integral_exact()))
