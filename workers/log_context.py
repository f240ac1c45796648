"""Binds the workflow id, the activity and the customer to every log line an activity writes."""

from __future__ import annotations

from typing import Any

import structlog
from temporalio import activity
from temporalio.worker import ActivityInboundInterceptor, ExecuteActivityInput, Interceptor


def _customer_id(args: tuple[Any, ...] | list[Any]) -> str | None:
    for arg in args:
        customer = getattr(arg, "customer_id", None)
        if customer:
            return str(customer)
    return None


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
        with structlog.contextvars.bound_contextvars(**context):
            return await self.next.execute_activity(input)


class LogContextInterceptor(Interceptor):
    def intercept_activity(self, next: ActivityInboundInterceptor) -> ActivityInboundInterceptor:
        return _BindActivityContext(next)
