"""The operations API (`/v1/ops/...`, role `ops`, its own log-in and token audience), one module
per concern, one router each:

- :mod:`.auth`: operators' log-in, refresh and log-out;
- :mod:`.applications`: applications by status from the read model, the review queue, one application;
- :mod:`.actions`: review (maker-checker), retry of a paused step, cancellation with compensation;
- :mod:`.dead_letters`: dead letters listed by partition and offset, and replayed;
- :mod:`.audit_log`: the append-only audit log.

Every action is written to the audit log exactly once by :mod:`api.services.ops_actions`.
"""

from __future__ import annotations

from fastapi import APIRouter

from api.routes.ops import actions, applications, audit_log, auth, dead_letters

router = APIRouter()
for concern in (auth, applications, actions, dead_letters, audit_log):
    router.include_router(concern.router)
