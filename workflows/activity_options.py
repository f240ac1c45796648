"""Timeouts and retry policies every activity call names.

Provider calls retry transient failures (timeouts, 429, 5xx) with backoff for a while; business
refusals arrive as non-retryable `ApplicationError`s and are not retried. Database-only activities
retry quickly. Nothing retries forever: a step that keeps failing reaches the workflow, which
pauses it for ops or compensates.
"""

from datetime import timedelta

from temporalio.common import RetryPolicy

PROVIDER_CALL = {
    "start_to_close_timeout": timedelta(seconds=30),
    "retry_policy": RetryPolicy(
        initial_interval=timedelta(seconds=1),
        backoff_coefficient=2.0,
        maximum_interval=timedelta(minutes=1),
        maximum_attempts=10,
    ),
}

DATABASE_WRITE = {
    "start_to_close_timeout": timedelta(seconds=15),
    "retry_policy": RetryPolicy(
        initial_interval=timedelta(milliseconds=200),
        backoff_coefficient=2.0,
        maximum_interval=timedelta(seconds=10),
        maximum_attempts=20,
    ),
}

# Compensations must get through: they retry longer, still bounded.
COMPENSATION = {
    "start_to_close_timeout": timedelta(seconds=30),
    "retry_policy": RetryPolicy(
        initial_interval=timedelta(seconds=1),
        backoff_coefficient=2.0,
        maximum_interval=timedelta(minutes=2),
        maximum_attempts=50,
    ),
}
