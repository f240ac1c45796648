"""structlog set-up: JSON lines in production, readable console lines in development.

Context such as the request id, workflow id and customer id is bound with
``structlog.contextvars.bind_contextvars`` and merged into every line. CPFs are masked by the
``mask_personal_data`` processor before any renderer sees them.
"""

from __future__ import annotations

import logging
import re
import sys
from typing import Any

import structlog

from lendflow.settings import Settings

# 11 digits, bare or formatted as 000.000.000-00, not part of a longer number.
_CPF_PATTERN = re.compile(r"(?<!\d)(\d{3})\.?(\d{3})\.?(\d{3})-?(\d{2})(?!\d)")


def mask_cpfs(text: str) -> str:
    """Hide every CPF in a text but its middle six digits: ``***.456.789-**``."""
    return _CPF_PATTERN.sub(lambda m: f"***.{m.group(2)}.{m.group(3)}-**", text)


def _mask(value: Any) -> Any:
    if isinstance(value, str):
        return mask_cpfs(value)
    if isinstance(value, dict):
        return {k: _mask(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_mask(v) for v in value)
    return value


def mask_personal_data(_logger: Any, _method: str, event_dict: dict[str, Any]) -> dict[str, Any]:
    return {key: _mask(value) for key, value in event_dict.items()}


def configure_logging(settings: Settings) -> None:
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.StackInfoRenderer(),
        mask_personal_data,
    ]
    renderer: Any
    if settings.logs_as_json:
        renderer = structlog.processors.JSONRenderer()
        shared.append(structlog.processors.format_exc_info)
    else:
        renderer = structlog.dev.ConsoleRenderer()

    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    # Route the standard library's records (uvicorn, temporalio, alembic) through the same renderer.
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared,
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer],
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(settings.log_level.upper())
    for noisy in ("uvicorn.access",):
        logging.getLogger(noisy).setLevel(logging.WARNING)
