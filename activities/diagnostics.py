"""What a worker says about itself when pinged."""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass

from temporalio import activity


@dataclass(frozen=True)
class WorkerDescription:
    host: str
    pid: int
    task_queue: str


@activity.defn
async def describe_worker() -> WorkerDescription:
    return WorkerDescription(host=socket.gethostname(), pid=os.getpid(), task_queue=activity.info().task_queue)
