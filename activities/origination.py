"""Activities of loan origination. Each step's writes are batched into one activity and one
transaction (read model + outbox event together), and every side effect at a provider carries an
idempotency key derived from the application and the step, because activities run at least once.

The application's status has one writer, the workflow: an activity writes a status only when its
request carries the workflow's `StatusChange`, and only through `apply_status_change`, which refuses
a move `NEXT_STATUSES` forbids (the read model never moves back or skips one).
"""

from __future__ import annotations

import asyncio
import hashlib
import uuid
from dataclasses import asdict
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.contract_document import (
    SignatureEvidence,
    borrower_of,
    ccb_terms,
    contract_number,
    render_ccb,
    render_signature_certificate,
)
from activities.provider_errors import provider_call
from domain.pix_keys import customers_own_pix_key
from integrations.credit_bureau import CreditBureauClient
from integrations.ecm import EcmClient
from integrations.errors import EnvelopeNotVoidable
from integrations.esignature import EnvelopeStatus, ESignatureClient, SignerRequest
from integrations.pix import PixClient, PixKeyDestination
from lendflow.settings import LenderSettings
from storage import ledger
from storage.models import Customer, Document, Installment, JournalEntry, LoanApplication, SignatureEnvelope
from storage.outbox import record_event
from workflows.contracts.origination import (
    EXPOSURE_STATUSES,
    OPEN_STATUSES,
    PIX_KEY_NOT_THE_CUSTOMERS,
    STATUS_MOVE_REFUSED,
    AnalysisRequest,
    ApplicantProfile,
    ApplicationStatus,
    ContractRequest,
    ContractSent,
    CreditReportRequest,
    CreditReportSummary,
    DisbursementCompletion,
    DisbursementRequest,
    DisbursementStarted,
    LedgerReversal,
    LimitRelease,
    Offer,
    OriginationActivityContract,
    ReminderRequest,
    SignatureCertificateIssued,
    SignatureCertificateRequest,
    StatusChange,
    StepRecord,
    VoidEnvelopeRequest,
    disbursement_ledger_key,
    status_may_move,
)


def _steps_json(steps: list[StepRecord]) -> list[dict[str, Any]]:
    return [{"step": s.step, "outcome": s.outcome, "at": s.at.isoformat(), "detail": s.detail} for s in steps]


def _offer_json(offer: Offer) -> dict[str, Any]:
    def plain(value: Any) -> Any:
        if isinstance(value, Decimal):
            return str(value)
        if isinstance(value, dict):
            return {k: plain(v) for k, v in value.items()}
        if isinstance(value, list):
            return [plain(v) for v in value]
        if hasattr(value, "isoformat"):
            return value.isoformat()
        return value

    return plain(asdict(offer))


# What the signature step records when the envelope ended at the provider.
_ENVELOPE_OUTCOMES = {EnvelopeStatus.SIGNED, EnvelopeStatus.DECLINED, EnvelopeStatus.EXPIRED}


async def _follow_envelope(
    session: AsyncSession, application_id: str, envelope_id: str | None, outcome: EnvelopeStatus
) -> None:
    """Move the application's envelope still ``sent`` (or the one named) to ``outcome``, once."""
    query = select(SignatureEnvelope).where(
        SignatureEnvelope.application_id == uuid.UUID(application_id), SignatureEnvelope.status == EnvelopeStatus.SENT
    )
    if envelope_id is not None:
        query = query.where(SignatureEnvelope.envelope_id == envelope_id)
    for envelope in (await session.scalars(query.with_for_update())).all():
        envelope.status = outcome.value
        record_event(
            session,
            f"loan.envelope_{outcome.value}",
            application_id,
            {"application_id": application_id, "envelope_id": envelope.envelope_id},
        )


async def apply_status_change(
    session: AsyncSession,
    application: LoanApplication,
    change: StatusChange,
    *,
    superseded_by: StatusChange | None = None,
    **event_details: Any,
) -> bool:
    """The read model takes the workflow's status change, with its `loan.<status>` outbox event, in
    the caller's transaction; whether anything changed.

    The same change applied again (a retried activity) changes nothing and records no second event;
    so does one the same activity's later change (`superseded_by`) has already followed, when an
    attempt is retried after that later change committed (prepare_contract's acceptance once the
    contract is sent). Any other move NEXT_STATUSES forbids is refused (non-retryable): the read
    model never skips a status, and moves back only where PAUSED_RETURNS lets a pause (a refused
    payout), whoever asks. `event_details` add the step's own facts to the event."""
    current = ApplicationStatus(application.status)
    if superseded_by is not None and current == superseded_by.status and current != change.status:
        return False
    if not status_may_move(current, change.status, paused=change.failed_step is not None):
        raise ApplicationError(
            f"application {change.application_id} may not move from {current} to {change.status}",
            type=STATUS_MOVE_REFUSED,
            non_retryable=True,
        )
    application.steps = _steps_json(change.steps)
    if change.offer is not None:
        application.offer = _offer_json(change.offer)
        application.monthly_rate = change.offer.monthly_rate
    if change.risk_band is not None:
        application.risk_band = change.risk_band
    if change.reserve_amount is not None:
        application.reserved_amount = change.reserve_amount
    signature = next((step for step in reversed(change.steps) if step.step == "signature"), None)
    if signature is not None and signature.outcome in _ENVELOPE_OUTCOMES:
        await _follow_envelope(session, change.application_id, None, EnvelopeStatus(signature.outcome))
    if (current, application.failed_step, application.status_reason) == (
        change.status,
        change.failed_step,
        change.reason,
    ):
        return False
    application.status = change.status
    application.failed_step = change.failed_step
    application.status_reason = change.reason
    record_event(
        session,
        f"loan.{change.status}",
        change.application_id,
        {
            "application_id": change.application_id,
            "customer_id": change.customer_id,
            "status": change.status,
            "failed_step": change.failed_step,
            "reason": change.reason,
            **event_details,
        },
    )
    return True


class OriginationActivities(OriginationActivityContract):
    def __init__(
        self,
        session_maker: async_sessionmaker[AsyncSession],
        credit_bureau: CreditBureauClient,
        ecm: EcmClient,
        esignature: ESignatureClient,
        pix: PixClient,
        lender: LenderSettings | None = None,
    ) -> None:
        self._lender = lender or LenderSettings()
        self._sessions = session_maker
        self._bureau = credit_bureau
        self._ecm = ecm
        self._esignature = esignature
        self._pix = pix

    async def _application(self, session: AsyncSession, application_id: str) -> LoanApplication:
        application = await session.get(LoanApplication, uuid.UUID(application_id), with_for_update=True)
        if application is None:
            raise ApplicationError(
                f"application {application_id} does not exist", type="ApplicationNotFound", non_retryable=True
            )
        return application

    async def _customer(self, session: AsyncSession, customer_id: str) -> Customer:
        customer = await session.get(Customer, uuid.UUID(customer_id))
        if customer is None:
            raise ApplicationError(
                f"customer {customer_id} does not exist", type="CustomerNotFound", non_retryable=True
            )
        return customer

    @activity.defn
    async def start_analysis(self, request: AnalysisRequest) -> ApplicantProfile:
        """Load what eligibility and the policy need; the application becomes `analyzing`."""
        async with self._sessions() as session, session.begin():
            application = await self._application(session, request.application_id)
            customer = await self._customer(session, request.customer_id)
            others = await session.scalar(
                select(func.count())
                .select_from(LoanApplication)
                .where(
                    LoanApplication.customer_id == customer.id,
                    LoanApplication.id != application.id,
                    LoanApplication.status.in_(OPEN_STATUSES),
                )
            )
            exposure = await session.scalar(
                select(func.coalesce(func.sum(LoanApplication.amount), 0)).where(
                    LoanApplication.customer_id == customer.id,
                    LoanApplication.id != application.id,
                    LoanApplication.status.in_(EXPOSURE_STATUSES),
                )
            )
            if request.status is not None:
                await apply_status_change(session, application, request.status)
            return ApplicantProfile(
                customer_status=customer.status,
                monthly_income=customer.monthly_income,
                other_open_applications=int(others or 0),
                outstanding_exposure=Decimal(exposure or 0),
            )

    @activity.defn
    async def fetch_credit_report(self, request: CreditReportRequest) -> CreditReportSummary:
        async with self._sessions() as session:
            cpf = (await self._customer(session, request.customer_id)).cpf
        with provider_call():
            report = await self._bureau.fetch_credit_report(cpf)
        return CreditReportSummary(
            score=report.score,
            negative_records=len(report.negative_records),
            income_estimate=report.estimated_monthly_income,
        )

    @activity.defn
    async def record_status(self, change: StatusChange) -> None:
        """A status change no other activity carries (offer_ready, a review, a pause, the end)."""
        async with self._sessions() as session, session.begin():
            await apply_status_change(session, await self._application(session, change.application_id), change)

    @activity.defn
    async def release_limit(self, release: LimitRelease) -> None:
        async with self._sessions() as session, session.begin():
            application = await self._application(session, release.application_id)
            if application.reserved_amount:
                application.reserved_amount = Decimal("0")
                record_event(
                    session, "loan.limit_released", release.application_id, {"application_id": release.application_id}
                )

    @activity.defn
    async def prepare_contract(self, request: ContractRequest) -> ContractSent:
        """Render the CCB, store it in the ECM, send it for signature, and record all of it."""
        offer = request.offer
        async with self._sessions() as session, session.begin():
            if request.accepted is not None:  # the acceptance (and its reservation) before the contract
                await apply_status_change(
                    session,
                    await self._application(session, request.application_id),
                    request.accepted,
                    superseded_by=request.status,
                )
            customer = await self._customer(session, request.customer_id)
            name, email, cpf = customer.name, customer.email, customer.cpf
            borrower = borrower_of(customer)  # refuses (BorrowerAddressMissing) without an address
        # The full CPF goes into the document (kept in the ECM) and to the eSignature provider, never
        # into a log line or a Temporal payload: the request and the result carry only ids and hashes.
        ccb = ccb_terms(request.application_id, offer, borrower, self._lender)
        # Drawing a contract takes a few hundred milliseconds of CPU: off the event loop, so that the
        # worker's other activities and its workflow tasks keep moving meanwhile.
        pdf = await asyncio.to_thread(render_ccb, ccb)
        with provider_call():
            stored = await self._ecm.store_document(
                pdf,
                filename=f"ccb-{request.application_id}.pdf",
                content_type="application/pdf",
                metadata={"application_id": request.application_id, "kind": "ccb"},
                idempotency_key=f"{request.application_id}:contract:ecm",
            )
            envelope = await self._esignature.create_envelope(
                document=pdf,
                document_name=f"CCB {ccb.contract_number}",
                signers=[SignerRequest(name=name, email=email, cpf=cpf)],
                external_reference=request.application_id,
                idempotency_key=f"{request.application_id}:contract:envelope",
            )
        async with self._sessions() as session, session.begin():
            application = await self._application(session, request.application_id)
            document = await session.scalar(select(Document).where(Document.ecm_document_id == stored.document_id))
            if document is None:
                document = Document(
                    id=uuid.uuid4(),
                    customer_id=uuid.UUID(request.customer_id),
                    application_id=application.id,
                    document_type="contract",
                    ecm_document_id=stored.document_id,
                    sha256=stored.sha256,
                    content_type="application/pdf",
                    size_bytes=stored.size_bytes,
                    status="validated",
                )
                session.add(document)
                await session.flush()
            if await session.get(SignatureEnvelope, envelope.envelope_id) is None:
                session.add(
                    SignatureEnvelope(
                        envelope_id=envelope.envelope_id,
                        application_id=application.id,
                        document_id=document.id,
                        signing_url=envelope.signers[0].signing_url,
                    )
                )
            if request.status is not None:
                await apply_status_change(
                    session, application, request.status, envelope_id=envelope.envelope_id, sha256=stored.sha256
                )
        return ContractSent(
            document_id=str(document.id),
            ecm_document_id=stored.document_id,
            sha256=stored.sha256,
            envelope_id=envelope.envelope_id,
            signing_url=envelope.signers[0].signing_url,
        )

    @activity.defn
    async def issue_signature_certificate(self, request: SignatureCertificateRequest) -> SignatureCertificateIssued:
        """After the signature: the provider's evidence as a PDF/A certificate stored beside the contract.

        The certificate binds the signer, the time and the envelope to the SHA-256 of the contract
        Lendflow stored; a provider that attests another document is a permanent refusal.
        """
        async with self._sessions() as session, session.begin():
            if request.status is not None:  # `signed`, whatever becomes of the certificate
                await apply_status_change(
                    session, await self._application(session, request.application_id), request.status
                )
            envelope_row = await session.get(SignatureEnvelope, request.envelope_id)
            if envelope_row is None:
                raise ApplicationError(
                    f"envelope {request.envelope_id} is not recorded", type="EnvelopeNotRecorded", non_retryable=True
                )
            contract = await session.get(Document, envelope_row.document_id)
            assert contract is not None  # a foreign key
            contract_sha256, contract_ecm_id = contract.sha256, contract.ecm_document_id
        with provider_call():
            envelope = await self._esignature.get_envelope(request.envelope_id)
        if envelope.status != "signed":
            raise ApplicationError(
                f"envelope {request.envelope_id} is {envelope.status}, not signed",
                type="EnvelopeNotSigned",
                non_retryable=True,
            )
        if envelope.document.sha256 != contract_sha256:
            raise ApplicationError(
                "the provider attests a document other than the contract stored",
                type="SignedDocumentMismatch",
                non_retryable=True,
            )
        signer = envelope.signers[0]
        completed = envelope.completed_at or signer.signed_at
        assert completed is not None and signer.signed_at is not None  # a signed envelope has both
        certificate = await asyncio.to_thread(
            render_signature_certificate,
            SignatureEvidence(
                contract_number=contract_number(request.application_id),
                document_name=envelope.document.name,
                ecm_document_id=contract_ecm_id,
                contract_sha256=contract_sha256,
                provider_sha256=envelope.document.sha256,
                envelope_id=envelope.envelope_id,
                envelope_status=envelope.status,
                envelope_created_at=envelope.created_at,
                completed_at=completed,
                signer_name=signer.name,
                signer_email=signer.email,
                signer_id=signer.signer_id,
                signed_at=signer.signed_at,
            ),
        )
        with provider_call():
            stored = await self._ecm.store_document(
                certificate,
                filename=f"ccb-{request.application_id}-certificado-assinatura.pdf",
                content_type="application/pdf",
                metadata={
                    "application_id": request.application_id,
                    "kind": "signature_certificate",
                    "envelope_id": envelope.envelope_id,
                    "contract_sha256": contract_sha256,
                },
                idempotency_key=f"{request.application_id}:contract:certificate",
            )
        async with self._sessions() as session, session.begin():
            document = await session.scalar(select(Document).where(Document.ecm_document_id == stored.document_id))
            if document is None:
                document = Document(
                    id=uuid.uuid4(),
                    customer_id=uuid.UUID(request.customer_id),
                    application_id=uuid.UUID(request.application_id),
                    document_type="signature_certificate",
                    ecm_document_id=stored.document_id,
                    sha256=stored.sha256,
                    content_type="application/pdf",
                    size_bytes=stored.size_bytes,
                    status="validated",
                )
                session.add(document)
                record_event(
                    session,
                    "loan.signature_certified",
                    request.application_id,
                    {
                        "application_id": request.application_id,
                        "envelope_id": envelope.envelope_id,
                        "contract_sha256": contract_sha256,
                        "certificate_sha256": stored.sha256,
                    },
                )
        return SignatureCertificateIssued(
            document_id=str(document.id),
            ecm_document_id=stored.document_id,
            sha256=stored.sha256,
            contract_sha256=contract_sha256,
        )

    @activity.defn
    async def void_envelope(self, request: VoidEnvelopeRequest) -> None:
        outcome = EnvelopeStatus.VOIDED
        with provider_call():
            try:
                await self._esignature.void_envelope(request.envelope_id, reason=request.reason)
            except EnvelopeNotVoidable:
                # Already declined, expired or signed at the provider: nothing left to undo, and
                # the read model shows what did happen to it.
                outcome = (await self._esignature.get_envelope(request.envelope_id)).status
        async with self._sessions() as session, session.begin():
            await _follow_envelope(session, request.application_id, request.envelope_id, outcome)

    @activity.defn
    async def remind(self, request: ReminderRequest) -> None:
        async with self._sessions() as session, session.begin():
            record_event(
                session,
                f"loan.reminder.{request.kind}",
                request.application_id,
                {"application_id": request.application_id, "customer_id": request.customer_id, "kind": request.kind},
            )

    @activity.defn
    async def disburse(self, request: DisbursementRequest) -> DisbursementStarted:
        """Post the disbursement entry, then send the PIX under the application's idempotency key."""
        offer = request.offer
        application_id = uuid.UUID(request.application_id)
        ledger_key = disbursement_ledger_key(request.application_id)
        async with self._sessions() as session, session.begin():
            application = await self._application(session, request.application_id)
            customer = await self._customer(session, request.customer_id)
            pix_key = customer.cpf
            payout_key = f"{request.application_id}:payout"
            if request.pix_key is not None:
                # An ops correction: only to one of the customer's own keys (checked by the API too).
                own = customers_own_pix_key(
                    request.pix_key, cpf=customer.cpf, email=customer.email, phone=customer.phone
                )
                if own is None:
                    raise ApplicationError(
                        "the corrected PIX key is not one of the customer's",
                        type=PIX_KEY_NOT_THE_CUSTOMERS,
                        non_retryable=True,
                    )
                # A payout of its own per destination: retrying one key never pays twice, and a
                # refused key's idempotency key is not reused for another destination.
                pix_key, payout_key = own, f"{payout_key}:{hashlib.sha256(own.encode()).hexdigest()[:16]}"
            entry = await ledger.post_entry(
                session,
                idempotency_key=ledger_key,
                application_id=application_id,
                kind="disbursement",
                description=f"Disbursement of loan {request.application_id}",
                postings=[
                    ledger.Posting(ledger.LOANS_RECEIVABLE, debit=offer.amount_financed),
                    ledger.Posting(ledger.PIX_SETTLEMENT, credit=offer.amount_released),
                    ledger.Posting(ledger.IOF_PAYABLE, credit=offer.iof_total),
                    ledger.Posting(ledger.FEE_INCOME, credit=offer.fees_total),
                ],
            )
            if request.signed is not None:
                await apply_status_change(session, application, request.signed, superseded_by=request.status)
            if request.status is not None:  # before the payout is sent: the pipeline expects it
                await apply_status_change(session, application, request.status)
            # Named by us and stable across attempts (the entry's time, the payout's key), so an
            # attempt after a lost answer can ask the PSP for the payout instead of sending it again.
            requested_at = (
                await session.execute(select(JournalEntry.created_at).where(JournalEntry.id == entry.id))
            ).scalar_one()
        with provider_call():
            payout = await self._pix.pay_once(
                amount=offer.amount_released,
                destination=PixKeyDestination(pix_key=pix_key),
                idempotency_key=payout_key,
                external_reference=request.application_id,
                description=f"Emprestimo {request.application_id[:8]}",
                end_to_end_id=self._pix.payout_end_to_end_id(requested_at, payout_key),
                ask_first=activity.info().attempt > 1,
            )
        return DisbursementStarted(end_to_end_id=payout.end_to_end_id)

    @activity.defn
    async def reverse_disbursement(self, reversal: LedgerReversal) -> None:
        async with self._sessions() as session, session.begin():
            entry = await ledger.reverse_entry(session, idempotency_key=reversal.ledger_key, reason=reversal.reason)
            if entry is not None:
                record_event(
                    session,
                    "loan.disbursement_reversed",
                    reversal.application_id,
                    {"application_id": reversal.application_id},
                )

    @activity.defn
    async def complete_disbursement(self, completion: DisbursementCompletion) -> None:
        """The schedule becomes installments, the application `disbursed`, in one transaction."""
        async with self._sessions() as session, session.begin():
            application = await self._application(session, completion.application_id)
            existing = await session.scalar(
                select(func.count()).select_from(Installment).where(Installment.application_id == application.id)
            )
            if not existing:
                session.add_all(
                    Installment(application_id=application.id, **asdict(i)) for i in completion.offer.installments
                )
            if completion.status is not None:
                await apply_status_change(
                    session,
                    application,
                    completion.status,
                    amount_released=str(completion.offer.amount_released),
                    end_to_end_id=completion.end_to_end_id,
                )
