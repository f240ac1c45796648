"""What the event bridge signals to a workflow: a trusted event from the pipeline."""

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class ProviderEvent:
    """A trusted event from the pipeline, as the event bridge signals it (extra fields ignored)."""

    event_id: str
    type: str
    subject: str
    data: dict[str, Any] = field(default_factory=dict)
