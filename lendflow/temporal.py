"""The one way every process (API, workers, tests, CLI) connects to Temporal.

One data converter for the whole project: pydantic-aware JSON, so `Decimal`, `date` and pydantic
models cross the wire as strings and typed objects, never floats.
"""

from __future__ import annotations

from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.converter import DataConverter

from lendflow.settings import TemporalSettings


def data_converter() -> DataConverter:
    return pydantic_data_converter


async def connect(temporal: TemporalSettings, *, lazy: bool = False) -> Client:
    """Connect to Temporal. ``lazy`` defers the connection to the first call, so a process that
    starts while Temporal is down (the API) comes up and reports it instead of crashing."""
    return await Client.connect(
        temporal.address, namespace=temporal.namespace, data_converter=data_converter(), lazy=lazy
    )
