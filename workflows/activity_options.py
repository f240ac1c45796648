"""Timeouts and retry policies every activity call names.

Provider calls retry transient failures (timeouts, 429, 5xx) with backoff for a while; business
refusals arrive as non-retryable `ApplicationError`s and are not retried. Database-only activities
retry quickly. Nothing retries forever: a step that keeps failing reaches the workflow, which
pauses it for ops or compensates.
"""

from datetime import timedelta
from typing import TypedDict

from temporalio.common import RetryPolicy


class ActivityOptions(TypedDict):
    """The keyword arguments of `workflow.execute_activity_method` every call spreads (`**PROVIDER_CALL`).

    Typed with the SDK's own parameter types, so a type checker checks each call's options and its
    argument against the activity it runs, instead of accepting an untyped `dict[str, object]`.
    """

    start_to_close_timeout: timedelta
    retry_policy: RetryPolicy


PROVIDER_CALL: ActivityOptions = {
    "start_to_close_timeout": timedelta(seconds=30),
    "retry_policy": RetryPolicy(
        initial_interval=timedelta(seconds=1),
        backoff_coefficient=2.0,
        maximum_interval=timedelta(minutes=1),
        maximum_attempts=10,
    ),
}

DATABASE_WRITE: ActivityOptions = {
    "start_to_close_timeout": timedelta(seconds=15),
    "retry_policy": RetryPolicy(
        initial_interval=timedelta(milliseconds=200),
        backoff_coefficient=2.0,
        maximum_interval=timedelta(seconds=10),
        maximum_attempts=20,
    ),
}

# Compensations must get through: they retry longer, still bounded.
COMPENSATION: ActivityOptions = {
    "start_to_close_timeout": timedelta(seconds=30),
    "retry_policy": RetryPolicy(
        initial_interval=timedelta(seconds=1),
        backoff_coefficient=2.0,
        maximum_interval=timedelta(minutes=2),
        maximum_attempts=50,
    ),
}
