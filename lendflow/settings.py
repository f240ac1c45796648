"""Every address, credential and tunable of Lendflow, read from the environment.

Variables take the prefix ``LENDFLOW_`` and nested groups are joined with ``__``, for example
``LENDFLOW_POSTGRES__DSN`` or ``LENDFLOW_KAFKA__BOOTSTRAP_SERVERS``. The defaults point at the
services that ``lendflow services up`` starts on loopback.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from lendflow import REPO_ROOT


class PostgresSettings(BaseModel):
    dsn: SecretStr = SecretStr("postgresql+psycopg://lendflow:lendflow@127.0.0.1:5432/lendflow")
    pool_size: int = 10
    max_overflow: int = 10
    # Used by `lendflow services up` to create the application role and database when missing.
    superuser: str = "postgres"


class RedisSettings(BaseModel):
    url: SecretStr = SecretStr("redis://127.0.0.1:6379/0")
    dedupe_ttl_seconds: int = 7 * 24 * 3600


class KafkaTopics(BaseModel):
    incoming: str = "lending.incoming.v1"
    validated: str = "lending.validated.v1"
    dlq: str = "lending.dlq.v1"
    trusted: str = "lending.trusted.v1"
    events: str = "lending.events.v1"

    def all(self) -> list[str]:
        return [self.incoming, self.validated, self.dlq, self.trusted, self.events]


class KafkaSettings(BaseModel):
    bootstrap_servers: str = "127.0.0.1:9092"
    topics: KafkaTopics = KafkaTopics()
    partitions: int = Field(default=6, ge=1)
    # Per-topic overrides of `partitions`, keyed by topic name.
    partitions_by_topic: dict[str, int] = {}
    replication_factor: int = 1
    # Heap of the local broker started by `lendflow services up`.
    broker_heap: str = "512m"

    def partitions_for(self, topic: str) -> int:
        return self.partitions_by_topic.get(topic, self.partitions)


class TemporalSettings(BaseModel):
    address: str = "127.0.0.1:7233"
    namespace: str = "default"
    task_queue: str = "lendflow"
    ui_url: str = "http://127.0.0.1:8233"
    ui_port: int = 8233


class ApiSettings(BaseModel):
    host: str = "127.0.0.1"
    port: int = 8000
    # Seconds a dependency check in /health/ready may take before it counts as down.
    readiness_timeout_seconds: float = 2.0


class SimulatorSettings(BaseModel):
    host: str = "127.0.0.1"
    port: int = 8090
    # Base of the links the simulator hands out (signing pages, payment links, charge locations);
    # unset means http://{host}:{port}.
    public_base_url: str | None = None
    # Where the simulator keeps what survives a restart (ECM documents); unset means run_dir/simulator.
    data_dir: Path | None = None
    # Where the simulator delivers webhooks ({base}{provider}); unset means providers.webhook_target_base_url.
    webhook_target_base_url: str | None = None
    webhook_max_attempts: int = Field(default=5, ge=1)
    webhook_retry_base_seconds: float = 0.5
    webhook_timeout_seconds: float = 5.0
    # The simulated payment institution: its ISPB goes into every EndToEndId it makes.
    pix_ispb: str = Field(default="12345678", pattern=r"^[0-9]{8}$")
    pix_merchant_name: str = "LENDFLOW SCD"
    pix_merchant_city: str = "SAO PAULO"
    # Seconds between accepting a payout or refund and settling it (then the webhook goes out).
    settlement_delay_seconds: float = 1.0
    # Default life of an eSignature envelope when the request names none.
    envelope_expiry_seconds: int = 7 * 24 * 3600


_SIMULATOR_BASE_URL = "http://127.0.0.1:8090"


class ProviderSettings(BaseModel):
    """Where one external provider answers and how Lendflow calls it."""

    base_url: str
    timeout_seconds: float = 5.0
    connect_timeout_seconds: float = 2.0
    # Sent as `Authorization: Bearer <api_key>`.
    api_key: SecretStr = SecretStr("lendflow-dev-key")


class WebhookProviderSettings(ProviderSettings):
    # Every secret here verifies this provider's webhooks; the first one signs (in the simulator).
    # Rotate by putting the new secret first, and drop the old one once the provider stopped using it.
    webhook_secrets: list[SecretStr] = Field(default_factory=list)


# One class per provider so that each default survives a partial override from the environment.
class FederalRevenueSettings(ProviderSettings):
    base_url: str = f"{_SIMULATOR_BASE_URL}/federal-revenue"


class CreditBureauSettings(ProviderSettings):
    base_url: str = f"{_SIMULATOR_BASE_URL}/credit-bureau"


class EcmSettings(ProviderSettings):
    base_url: str = f"{_SIMULATOR_BASE_URL}/ecm"
    timeout_seconds: float = 15.0


class ESignatureSettings(WebhookProviderSettings):
    base_url: str = f"{_SIMULATOR_BASE_URL}/esignature"
    webhook_secrets: list[SecretStr] = Field(default_factory=lambda: [SecretStr("dev-esignature-webhook-secret")])


class PixSettings(WebhookProviderSettings):
    base_url: str = f"{_SIMULATOR_BASE_URL}/pix"
    webhook_secrets: list[SecretStr] = Field(default_factory=lambda: [SecretStr("dev-pix-webhook-secret")])
    # The lender's own PIX key, which receives what customers pay on charges (cob).
    receiver_pix_key: str = "cobranca@lendflow.dev"


class ProvidersSettings(BaseModel):
    """The five external providers. The defaults point at `lendflow simulator` on loopback."""

    federal_revenue: FederalRevenueSettings = FederalRevenueSettings()
    credit_bureau: CreditBureauSettings = CreditBureauSettings()
    ecm: EcmSettings = EcmSettings()
    esignature: ESignatureSettings = ESignatureSettings()
    pix: PixSettings = PixSettings()
    # Seconds a webhook's timestamp may differ from our clock, either way.
    webhook_tolerance_seconds: int = 300
    # Where providers deliver webhooks to us: the API's receiver, {base}{provider}.
    webhook_target_base_url: str = "http://127.0.0.1:8000/v1/webhooks/"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="LENDFLOW_",
        env_nested_delimiter="__",
        env_file=".env",
        extra="ignore",
    )

    environment: Literal["development", "test", "production"] = "development"
    log_level: str = "INFO"
    # JSON log lines; when unset, JSON in production and readable console lines elsewhere.
    log_json: bool | None = None
    run_dir: Path = REPO_ROOT / ".run"

    postgres: PostgresSettings = PostgresSettings()
    redis: RedisSettings = RedisSettings()
    kafka: KafkaSettings = KafkaSettings()
    temporal: TemporalSettings = TemporalSettings()
    api: ApiSettings = ApiSettings()
    simulator: SimulatorSettings = SimulatorSettings()
    providers: ProvidersSettings = ProvidersSettings()

    @property
    def logs_as_json(self) -> bool:
        return self.log_json if self.log_json is not None else self.environment == "production"


@lru_cache
def get_settings() -> Settings:
    return Settings()
