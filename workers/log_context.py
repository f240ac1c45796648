"""Binds the workflow id, the activity and the customer to every log line an activity writes, and
has the customer's personal values masked in every line of the attempt."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Sequence
from typing import Any

import structlog
from pydantic import BaseModel
from temporalio import activity
from temporalio.worker import ActivityInboundInterceptor, ExecuteActivityInput, Interceptor

from lendflow.logging import is_personal_field, remember_personal_values


def _customer_id(args: Sequence[Any]) -> str | None:
    for arg in args:
        customer = getattr(arg, "customer_id", None)
        if customer:
            return str(customer)
    return None


def _fields(value: Any) -> dict[str, Any]:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {field.name: getattr(value, field.name) for field in dataclasses.fields(value)}
    if isinstance(value, BaseModel):
        return dict(value)
    if isinstance(value, dict):
        return {str(key): item for key, item in value.items()}
    return {}


def _personal_values(args: Sequence[Any], depth: int = 0) -> Iterator[object]:
    """The values of the activity's input held in personal fields (CPF, name, e-mail), two levels deep."""
    for arg in args:
        for name, value in _fields(arg).items():
            if is_personal_field(name):
                yield value
            elif depth < 2:
                yield from _personal_values([value], depth + 1)


class _BindActivityContext(ActivityInboundInterceptor):
    async def execute_activity(self, input: ExecuteActivityInput) -> Any:
        info = activity.info()
        context = {
            "workflow_id": info.workflow_id,
            "activity": info.activity_type,
            "attempt": info.attempt,
        }
        customer = _customer_id(input.args)
        if customer:
            context["customer_id"] = customer
        # Not reset on the way out, on purpose: the SDK logs a failed attempt ("Completing activity
        # as failed", with the exception) after this returns, in the same task, which ends with the attempt.
        remember_personal_values(_personal_values(input.args))
        with structlog.contextvars.bound_contextvars(**context):
            return await self.next.execute_activity(input)


class LogContextInterceptor(Interceptor):
    def intercept_activity(self, next: ActivityInboundInterceptor) -> ActivityInboundInterceptor:
        return _BindActivityContext(next)
