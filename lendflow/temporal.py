"""The one way every process (API, workers, tests, CLI) connects to Temporal.

One data converter for the whole project: pydantic-aware JSON, so `Decimal`, `date` and pydantic
models cross the wire as strings and typed objects, never floats; and every payload encrypted by
the project's codec (see `lendflow.codec`) before it leaves the process.

Failures too (LGPD): an exception's message and stack trace can carry a CPF, a name or a provider's
answer, and Temporal keeps them in the history and in a pending activity's ``last_failure``. The
failure converter moves both into the failure's ``encoded_attributes`` payload, which the codec
encrypts like any other; the history shows only "Encoded failure" and the failure's type. Whoever
reads a raw ``Failure`` proto (a workflow's description) decodes it with :func:`failure_message`;
the Temporal UI decodes it through the API's codec endpoint.
"""

from __future__ import annotations

import dataclasses

from temporalio.api.failure.v1 import Failure
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.converter import DataConverter, DefaultFailureConverterWithEncodedAttributes
from temporalio.exceptions import FailureError
from temporalio.runtime import Runtime

from lendflow.codec import EncryptionCodec, decode_key
from lendflow.settings import TemporalSettings, get_settings


def payload_codec(temporal: TemporalSettings | None = None) -> EncryptionCodec:
    temporal = temporal or get_settings().temporal
    keys = {key_id: decode_key(secret.get_secret_value()) for key_id, secret in temporal.payload_keys.items()}
    return EncryptionCodec(keys, temporal.active_payload_key)


def data_converter(temporal: TemporalSettings | None = None) -> DataConverter:
    return dataclasses.replace(
        pydantic_data_converter,
        payload_codec=payload_codec(temporal),
        failure_converter_class=DefaultFailureConverterWithEncodedAttributes,
    )


async def failure_message(converter: DataConverter, failure: Failure) -> str:
    """The readable message of a failure proto read raw from Temporal (a pending activity's
    ``last_failure``), decrypted with the project's keys. Failures written before the failure
    converter encoded them read as they are. The proto is left untouched."""
    copy = Failure()
    copy.CopyFrom(failure)
    error = await converter.decode_failure(copy)
    return error.message if isinstance(error, FailureError) else str(error)


async def connect(temporal: TemporalSettings, *, lazy: bool = False, runtime: Runtime | None = None) -> Client:
    """Connect to Temporal. ``lazy`` defers the connection to the first call, so a process that
    starts while Temporal is down (the API) comes up and reports it instead of crashing; ``runtime``
    carries the worker's metrics exporter."""
    return await Client.connect(
        temporal.address,
        namespace=temporal.namespace,
        data_converter=data_converter(temporal),
        lazy=lazy,
        runtime=runtime,
    )
