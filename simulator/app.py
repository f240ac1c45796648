"""The simulator's FastAPI app and its entry point.

Routes (each provider's API wants ``Authorization: Bearer <providers.<name>.api_key>``)::

    GET    /federal-revenue/v2/cpf/{ni}                       SERPRO Consulta CPF shape
    POST   /credit-bureau/v1/reports                          {"cpf"} → score, records, income
    POST   /ecm/v1/documents                                  multipart file + metadata
    GET    /ecm/v1/documents/{id}  · /{id}/content · DELETE /ecm/v1/documents/{id}
    POST   /esignature/v1/envelopes · GET /esignature/v1/envelopes/{id} · POST …/{id}/void
    GET    /esignature/sign/{token} · POST (form decision=sign|decline)   the signer's page
    POST   /pix/v1/payouts · GET /pix/v1/payouts/{end_to_end_id}
    PUT    /pix/v2/cob/{txid} · GET · PATCH                   BCB cob
    PUT    /pix/v2/pix/{e2eid}/devolucao/{id} · GET           BCB devolução
    GET    /pix/pay/{txid} · POST                              the payment link (a person pays)
    GET    /pix/qr/{location_id}                               the BR Code's location payload
    /_admin/...                                                see simulator.admin
    GET    /healthz
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime

import uvicorn
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response

from lendflow.settings import Settings, get_settings
from simulator import admin, credit_bureau, ecm, esignature, federal_revenue, pix
from simulator.faults import InjectedFault
from simulator.state import EnvelopeRecord, ProviderFailure, SimulatorState

BCB_ERROR_BASE = "https://pix.bcb.gov.br/api/v2/error/"
_READ_ONLY_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def _failure_response(failure: ProviderFailure) -> JSONResponse:
    if failure.style == "serpro":
        return JSONResponse({"error": failure.code, "error_description": failure.message}, status_code=failure.status)
    if failure.style == "bcb":
        return JSONResponse(
            {
                "type": BCB_ERROR_BASE + failure.code,
                "title": failure.code,
                "status": failure.status,
                "detail": failure.message,
            },
            status_code=failure.status,
            media_type="application/problem+json",
        )
    return JSONResponse({"error": failure.code, "message": failure.message}, status_code=failure.status)


def _resume_expiries(state: SimulatorState) -> None:
    """After a restart: open envelopes expire when they were due to (at once if that has passed)."""
    now = datetime.now(UTC)
    for envelope in state.envelopes.values():
        if envelope.status == "sent":

            async def expire_when_due(envelope: EnvelopeRecord = envelope) -> None:
                esignature.expire(state, envelope)

            state.schedule(max(0.0, (envelope.expires_at - now).total_seconds()), expire_when_due)


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    state = SimulatorState(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await state.start()
        pix.resume_settlements(state)
        _resume_expiries(state)
        try:
            yield
        finally:
            await state.stop()

    app = FastAPI(
        title="Lendflow provider simulator",
        description="Federal Revenue Office, credit bureau, ECM, eSignature and PIX, for development and tests.",
        lifespan=lifespan,
    )
    app.state.simulator = state

    @app.middleware("http")
    async def _keep_state(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        # Whatever a request changed is on disk before its answer leaves (a write only when it changed).
        response = await call_next(request)
        if request.method not in _READ_ONLY_METHODS:
            state.save()
        return response

    @app.exception_handler(ProviderFailure)
    async def _provider_failure(request: Request, failure: ProviderFailure) -> JSONResponse:
        return _failure_response(failure)

    @app.exception_handler(InjectedFault)
    async def _injected_fault(request: Request, fault: InjectedFault) -> JSONResponse:
        headers = {"Retry-After": str(fault.retry_after_seconds)} if fault.retry_after_seconds is not None else None
        return JSONResponse(
            {"error": "simulated_fault", "message": f"fault injected by the simulator ({fault.status})"},
            status_code=fault.status,
            headers=headers,
        )

    @app.exception_handler(RequestValidationError)
    async def _invalid_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        fields = "; ".join(
            f"{'.'.join(str(p) for p in error.get('loc', ()))}: {error.get('msg', '')}" for error in exc.errors()
        )
        return JSONResponse({"error": "invalid_request", "message": fields}, status_code=400)

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    app.include_router(federal_revenue.router)
    app.include_router(credit_bureau.router)
    app.include_router(ecm.router)
    app.include_router(esignature.api)
    app.include_router(esignature.pages)
    app.include_router(pix.payouts_api)
    app.include_router(pix.bcb_api)
    app.include_router(pix.pages)
    app.include_router(admin.router)
    return app


def serve(settings: Settings | None = None) -> None:
    """Run the simulator on ``settings.simulator.host:port`` until interrupted.

    Logging is left as the caller configured it (``lendflow.logging.configure_logging``), and
    there is no access log: the Federal Revenue route carries the CPF in its path, as SERPRO's does.
    """
    settings = settings or get_settings()
    uvicorn.run(
        create_app(settings),
        host=settings.simulator.host,
        port=settings.simulator.port,
        log_config=None,
        access_log=False,
        timeout_graceful_shutdown=5,
    )
