"""Every address, credential and tunable of Lendflow, read from the environment.

Variables take the prefix ``LENDFLOW_`` and nested groups are joined with ``__``, for example
``LENDFLOW_POSTGRES__DSN`` or ``LENDFLOW_KAFKA__BOOTSTRAP_SERVERS``. The defaults point at the
services that ``lendflow services up`` starts on loopback.
"""

from __future__ import annotations

from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, IPvAnyNetwork, SecretStr, model_validator
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
    # The Temporal UI server (github.com/temporalio/ui-server), built once with the machine's Go from
    # the Go module proxy; the same release the dev server embeds, but configurable (codec credentials).
    ui_server_version: str = "2.54.1"
    # AES-256 keys (base64) that encrypt workflow payloads, by key id; the active one encrypts,
    # all of them decrypt (rotation). The default key is for development only: set your own.
    payload_keys: dict[str, SecretStr] = {"dev-2026-11": SecretStr("bGVuZGZsb3ctZGV2ZWxvcG1lbnQta2V5LTMyLWJ5dGU=")}
    active_payload_key: str = "dev-2026-11"
    # Where the Temporal UI asks to decode payloads (the API's codec endpoint).
    codec_endpoint: str = "http://127.0.0.1:8000/codec"
    # Prometheus metrics of the worker (the SDK's runtime metrics and the business counters).
    worker_metrics_host: str = "127.0.0.1"
    worker_metrics_port: int = 9109
    # The worker's /health/live and /health/ready (the SDK's exporter owns the metrics port), on worker_metrics_host.
    worker_health_port: int = 9110
    # Workflows the worker keeps in memory between their tasks (the sticky cache): about 300 KiB each
    # for a parked loan journey (its sandbox re-runs the workflow module, ~90 KiB). A cached workflow
    # answers its next signal or update at once; one evicted to make room replays its history when it
    # wakes up (CPU and a history fetch, same result), so RSS stays flat however many wait. Raise it
    # when more journeys than this are in flight at once on one worker; 0 turns the cache and sticky
    # queues off. The SDK's default is 1000. Measured in docs/performance.md ("Worker memory").
    worker_max_cached_workflows: int = Field(default=100, ge=0)


class ApiSettings(BaseModel):
    host: str = "127.0.0.1"
    port: int = 8000
    # Seconds a dependency check in /health/ready may take before it counts as down.
    readiness_timeout_seconds: float = 2.0
    # Largest request body accepted (413 above it); document uploads may take
    # pipeline.document_max_bytes plus multipart_overhead_bytes.
    max_body_bytes: int = Field(default=64 * 1024, ge=1024)
    multipart_overhead_bytes: int = Field(default=16 * 1024, ge=0)
    # Lists: items per page when the caller names none, and the most it may ask for.
    default_page_size: int = Field(default=20, ge=1)
    max_page_size: int = Field(default=100, ge=1)
    # Seconds the API waits for a workflow query or update before it answers 503.
    workflow_call_timeout_seconds: float = 10.0
    # Seconds the API waits for Kafka to acknowledge an event before it answers 503.
    produce_timeout_seconds: float = 10.0
    # Seconds one page of `GET /v1/ops/dead-letters` may spend reading the DLQ; a page cut short
    # by it says so (`partial`) and its `next` link continues where it stopped.
    dead_letter_scan_seconds: float = Field(default=10.0, gt=0)
    # Browser origins allowed to call the API (CORS): the customers' app served by `lendflow app`.
    cors_origins: list[str] = ["http://127.0.0.1:8081", "http://localhost:8081"]
    # Where `lendflow app` serves the app's web build.
    app_host: str = "127.0.0.1"
    app_port: int = 8081
    # Proxies (addresses or CIDR networks) whose X-Forwarded-For is believed: the gateway, the
    # load balancer. From anyone else the header is ignored and the peer's address is the client's.
    trusted_proxies: list[IPvAnyNetwork] = Field(default_factory=list)


# The development signing key: an Ed25519 key derived from a fixed seed (SHA-256 of "lendflow
# development access-token signing key"), so that `make run` and every test process agree on it
# with no set-up. It is public, so production refuses to start with it (api.security).
DEV_SIGNING_KEY_ID = "lendflow-dev-1"
_DEV_SIGNING_KEY_PEM = (
    "-----BEGIN PRIVATE KEY-----\n"
    "MC4CAQAwBQYDK2VwBCIEILor7lVjfI8qeTMWrUwTZFTrkewLYJwepqBS6f7epjbG\n"
    "-----END PRIVATE KEY-----\n"
)


class AuthSettings(BaseModel):
    """Customer and operator sessions: JWT access tokens and rotating refresh tokens."""

    # Ed25519 private keys (PKCS#8 PEM) that sign access tokens, by key id (the tokens' `kid`). The
    # active one signs; every listed one still verifies and is published, public part only, at
    # /.well-known/jwks.json. Rotate by adding the new key, activating it once gateways have fetched
    # it, and removing the old one after the last token it signed expired (infra/krakend/README.md).
    signing_keys: dict[str, SecretStr] = Field(
        default_factory=lambda: {DEV_SIGNING_KEY_ID: SecretStr(_DEV_SIGNING_KEY_PEM)}
    )
    active_signing_key: str = DEV_SIGNING_KEY_ID
    # Pinned: tokens signed with any other algorithm (or none) are refused.
    algorithm: Literal["EdDSA"] = "EdDSA"
    # How long gateways and clients may cache the JWKS document (Cache-Control max-age).
    jwks_max_age_seconds: int = Field(default=300, ge=0)
    issuer: str = "https://api.lendflow.dev"
    audience: str = "lendflow-app"
    ops_audience: str = "lendflow-ops"
    # The Temporal UI's codec cookie: valid for decoding only, for the operator's whole session.
    codec_audience: str = "lendflow-ops-codec"
    access_ttl_seconds: int = Field(default=900, ge=60)
    refresh_ttl_seconds: int = Field(default=30 * 24 * 3600, ge=300)
    ops_access_ttl_seconds: int = Field(default=900, ge=60)
    # An operator's session is refreshed without a password for at most this long (a working
    # shift); unlike a customer's, it does not slide forward with each refresh.
    ops_session_max_seconds: int = Field(default=12 * 3600, ge=300)
    # Mark the operator's codec session cookie Secure even when the API itself sees plain HTTP
    # (behind a TLS-terminating proxy). Requests that arrive over HTTPS always get a Secure cookie.
    cookie_secure: bool = False
    # Log-in throttling in Redis. Only failed log-ins count, and they slow down, never lock: past
    # its free failures, a key's next attempt waits login_delay_base_seconds, doubling with each
    # further failure up to its cap. Keys: an account from one address (a customer mistyping, or
    # an attacker, who slows only themselves); an account from anywhere (a distributed guess, with
    # a short cap so its owner waits at most that); an address across accounts (stuffing). A
    # success clears the account-and-address key. Failures are forgotten after the memory.
    login_free_failures: int = Field(default=3, ge=1)
    login_delay_base_seconds: float = Field(default=1.0, gt=0)
    login_delay_max_seconds: int = Field(default=300, ge=1)
    login_account_free_failures: int = Field(default=20, ge=1)
    login_account_delay_max_seconds: int = Field(default=30, ge=1)
    login_address_free_failures: int = Field(default=30, ge=1)
    login_address_delay_max_seconds: int = Field(default=300, ge=1)
    login_failure_memory_seconds: int = Field(default=3600, ge=60)
    redis_key_prefix: str = "lendflow:auth"
    # When both are set, the API creates this operator at start-up if it does not exist yet.
    ops_bootstrap_username: str | None = None
    ops_bootstrap_password: SecretStr | None = None

    @model_validator(mode="after")
    def _active_key_is_listed(self) -> AuthSettings:
        # A key id travels in every token's header and in the JWKS: short, plain ASCII.
        bad = [
            k
            for k in self.signing_keys
            if not (0 < len(k) <= 64 and all(c.isascii() and (c.isalnum() or c in "._-") for c in k))
        ]
        if bad:
            raise ValueError(f"auth.signing_keys ids must be 1-64 of A-Z a-z 0-9 . _ - (got {bad})")
        if self.active_signing_key not in self.signing_keys:
            raise ValueError(
                f"auth.active_signing_key ({self.active_signing_key!r}) must be one of auth.signing_keys"
                f" ({sorted(self.signing_keys)})"
            )
        return self

    @model_validator(mode="after")
    def _session_outlasts_its_tokens(self) -> AuthSettings:
        # An access token living past the session's end would outlive the logout of a shift.
        if self.ops_session_max_seconds < self.ops_access_ttl_seconds:
            raise ValueError(
                f"auth.ops_session_max_seconds ({self.ops_session_max_seconds}) must be at least"
                f" auth.ops_access_ttl_seconds ({self.ops_access_ttl_seconds})"
            )
        return self


class OriginationSettings(BaseModel):
    """The loan product and the clocks of the origination journey (see workflows.contracts.origination)."""

    min_amount: Decimal = Decimal("500.00")
    max_amount: Decimal = Decimal("50000.00")
    min_term_months: int = 3
    max_term_months: int = 48
    offer_ttl_seconds: int = 72 * 3600
    review_escalate_after_seconds: int = 24 * 3600
    review_decline_after_seconds: int = 72 * 3600
    signature_reminder_every_seconds: int = 48 * 3600
    signature_ttl_seconds: int = 7 * 24 * 3600
    payout_settlement_timeout_seconds: int = 2 * 24 * 3600
    # Servicing issues each installment's PIX charge this many days before its due date.
    servicing_charge_lead_days: int = Field(default=5, ge=0)
    # A step still running (retrying a failing provider) this long shows as RetryingStep to ops.
    retrying_after_seconds: float = Field(default=30.0, gt=0)


class SimulatorSettings(BaseModel):
    host: str = "127.0.0.1"
    port: int = 8090
    # Base of the links the simulator hands out (signing pages, payment links, charge locations);
    # unset means http://{host}:{port}.
    public_base_url: str | None = None
    # Where the simulator keeps what survives a restart (state.sqlite3: payouts, charges, envelopes, keys;
    # ecm/: documents); unset means run_dir/simulator. See simulator/state.py.
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
    # The ISPB of the PSP that sends our payouts: the payer's institution, whose code starts the
    # EndToEndIds we name for them.
    psp_ispb: str = Field(default="12345678", pattern=r"^[0-9]{8}$")


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


class CreditSettings(BaseModel):
    """The lender's commercial limits on what it simulates and offers.

    The credit kernel's own rules (1 to 420 months, first due date 1 to 60 days after the release)
    still apply; these only narrow them.
    """

    max_monthly_rate: Decimal = Decimal("0.20")
    min_amount: Decimal = Decimal("100.00")
    max_amount: Decimal = Decimal("1000000.00")
    min_term_months: int = 1
    max_term_months: int = 420
    max_grace_months: int = 12


class LenderSettings(BaseModel):
    """Who lends: the creditor's identity as the CCB (Lei 10.931/2004, art. 29) names it."""

    name: str = "Lendflow Sociedade de Crédito Direto S.A."
    cnpj: str = Field(default="12345678000195", pattern=r"^[0-9]{14}$")
    address: str = "Avenida Paulista, 1000, 10º andar, Bela Vista, São Paulo/SP, CEP 01310-100"
    # Where contracts are issued (the place of "local e data").
    city: str = "São Paulo/SP"
    # Days the borrower may withdraw from the contract (CDC art. 49, contracts made online); None: not offered.
    withdrawal_days: int | None = Field(default=7, ge=1)


class PipelineGroups(BaseModel):
    """One Kafka consumer group per consuming stage of the event pipeline."""

    validation: str = "lendflow-pipeline-validation"
    trusted: str = "lendflow-pipeline-trusted"
    bridge: str = "lendflow-pipeline-bridge"


class PipelineSettings(BaseModel):
    """The Kafka event pipeline: incoming → dedupe + validation → validated | DLQ → trusted → bridge."""

    groups: PipelineGroups = PipelineGroups()
    # Names this process's consumers (static group membership) and transactional producers, so a
    # restarted instance takes over its partitions at once and fences its crashed predecessor.
    # Every replica needs its own; unset means the host name.
    instance_id: str | None = None
    # Messages handled per batch (one Kafka transaction, one database round trip per step).
    batch_size: int = Field(default=500, ge=1)
    # Consumers of the validation and trusted stages in one process, sharing their partitions: a
    # batch mostly waits on round trips, so several consumers keep the process busy.
    consumers_per_stage: int = Field(default=1, ge=1)
    poll_timeout_seconds: float = 0.5
    # Transient failures (database, Redis, ECM down) are retried with exponential backoff.
    retry_backoff_seconds: float = 0.5
    retry_backoff_max_seconds: float = 30.0
    session_timeout_ms: int = 10_000
    transaction_timeout_ms: int = 15_000
    # Redis keys of the dedupe marks: {redis_key_prefix}:{consumer group}:{key}.
    redis_key_prefix: str = "lendflow:dedupe"
    # A dead letter whose attempt count reached this is no longer replayed.
    max_attempts: int = Field(default=5, ge=1)
    # Dead letters one `lendflow dlq replay --all` re-produces at most.
    replay_limit: int = Field(default=1000, ge=1)
    # What a submitted identity document may be.
    document_content_types: list[str] = ["image/jpeg", "image/png", "application/pdf"]
    document_max_bytes: int = 10 * 1024 * 1024
    # The outbox relay: rows per round, pause when there is nothing to publish, and the key of the
    # PostgreSQL advisory lock that keeps one relay active at a time.
    outbox_batch_size: int = Field(default=500, ge=1)
    outbox_poll_seconds: float = 0.5
    outbox_lock_key: int = 5_310_001
    # Housekeeping: dedupe claims and published outbox rows older than this are deleted, every
    # prune_interval_seconds, prune_batch_size rows per transaction, one replica at a time (lock key).
    # The retention must outlast the Redis dedupe marks, which it backs up.
    retention_days: int = Field(default=30, ge=1)
    prune_interval_seconds: float = Field(default=3600.0, gt=0)
    prune_batch_size: int = Field(default=10_000, ge=1)
    prune_lock_key: int = 5_310_002
    # Prometheus metrics of the pipeline process (0 picks a free port).
    metrics_host: str = "127.0.0.1"
    metrics_port: int = 9108


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
    auth: AuthSettings = AuthSettings()
    origination: OriginationSettings = OriginationSettings()
    simulator: SimulatorSettings = SimulatorSettings()
    providers: ProvidersSettings = ProvidersSettings()
    credit: CreditSettings = CreditSettings()
    lender: LenderSettings = LenderSettings()
    pipeline: PipelineSettings = PipelineSettings()

    @property
    def logs_as_json(self) -> bool:
        return self.log_json if self.log_json is not None else self.environment == "production"

    @model_validator(mode="after")
    def _claims_outlive_marks(self) -> Settings:
        # A dedupe claim pruned while its Redis mark has expired too would let a duplicate through.
        if self.pipeline.retention_days * 86_400 <= self.redis.dedupe_ttl_seconds:
            raise ValueError(
                f"pipeline.retention_days ({self.pipeline.retention_days}) must outlast the Redis dedupe marks"
                f" (redis.dedupe_ttl_seconds = {self.redis.dedupe_ttl_seconds})"
            )
        return self


@lru_cache
def get_settings() -> Settings:
    return Settings()
