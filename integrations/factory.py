"""Builds the provider clients from settings: one ``httpx.AsyncClient`` per provider.

Each HTTP client has its provider's base URL, timeouts and bearer credential, does not follow
redirects, and is the only way the typed client reaches the provider. Build them once (in a
lifespan or a worker's start-up), share them, and close them on shutdown::

    async with ProviderClients.from_settings(settings) as providers:
        registration = await providers.federal_revenue.lookup_cpf(cpf)
"""

from __future__ import annotations

from dataclasses import dataclass
from types import TracebackType
from typing import Literal, Self

import httpx

from integrations.credit_bureau import CreditBureauClient
from integrations.ecm import EcmClient
from integrations.esignature import ESignatureClient
from integrations.federal_revenue import FederalRevenueClient
from integrations.pix import PixClient
from integrations.webhooks import WebhookVerifier
from lendflow.settings import ProviderSettings, Settings

USER_AGENT = "lendflow/0.1"


def provider_http_client(
    provider: ProviderSettings,
    *,
    transport: httpx.AsyncBaseTransport | None = None,
) -> httpx.AsyncClient:
    """The HTTP client for one provider: base URL, timeouts, ``Authorization: Bearer <api_key>``."""
    return httpx.AsyncClient(
        base_url=provider.base_url,
        timeout=httpx.Timeout(provider.timeout_seconds, connect=provider.connect_timeout_seconds),
        headers={
            "Authorization": f"Bearer {provider.api_key.get_secret_value()}",
            "Accept": "application/json",
            "User-Agent": USER_AGENT,
        },
        follow_redirects=False,
        transport=transport,
    )


@dataclass
class ProviderClients:
    """The five typed clients over their own HTTP clients."""

    federal_revenue: FederalRevenueClient
    credit_bureau: CreditBureauClient
    ecm: EcmClient
    esignature: ESignatureClient
    pix: PixClient
    _http_clients: tuple[httpx.AsyncClient, ...]

    @classmethod
    def from_settings(cls, settings: Settings) -> Self:
        providers = settings.providers
        federal_revenue = provider_http_client(providers.federal_revenue)
        credit_bureau = provider_http_client(providers.credit_bureau)
        ecm = provider_http_client(providers.ecm)
        esignature = provider_http_client(providers.esignature)
        pix = provider_http_client(providers.pix)
        return cls(
            federal_revenue=FederalRevenueClient(federal_revenue),
            credit_bureau=CreditBureauClient(credit_bureau),
            ecm=EcmClient(ecm),
            esignature=ESignatureClient(esignature),
            pix=PixClient(pix, receiver_pix_key=providers.pix.receiver_pix_key, psp_ispb=providers.pix.psp_ispb),
            _http_clients=(federal_revenue, credit_bureau, ecm, esignature, pix),
        )

    async def aclose(self) -> None:
        for client in self._http_clients:
            await client.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()


def webhook_verifier(settings: Settings, provider: Literal["esignature", "pix"]) -> WebhookVerifier:
    """The verifier for webhooks from ``provider``, with every currently valid secret."""
    secrets = getattr(settings.providers, provider).webhook_secrets
    return WebhookVerifier(secrets, tolerance_seconds=settings.providers.webhook_tolerance_seconds)
