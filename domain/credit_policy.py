"""The credit policy: from a bureau report and the applicant's finances to a decision.

Pure and deterministic, so the origination workflow runs it inside the workflow once the bureau
has answered (no activity round trip). Thresholds come from settings through `CreditPolicy`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Literal


@dataclass(frozen=True)
class RiskBand:
    name: str
    min_score: int
    monthly_rate: Decimal


@dataclass(frozen=True)
class CreditPolicy:
    # Highest band first; a score below every band's minimum declines.
    bands: tuple[RiskBand, ...] = (
        RiskBand("A", 800, Decimal("0.0199")),
        RiskBand("B", 650, Decimal("0.0299")),
        RiskBand("C", 500, Decimal("0.0449")),
    )
    # Scores in [manual_review_min_score, lowest band's min) go to an analyst instead of declining.
    manual_review_min_score: int = 400
    # The installment may take at most this share of the monthly income.
    max_installment_income_share: Decimal = Decimal("0.30")
    # Outstanding plus requested principal may reach at most this many monthly incomes.
    max_exposure_income_multiple: Decimal = Decimal("10")
    # Applications above this amount always get a second pair of eyes.
    manual_review_above_amount: Decimal = Decimal("30000.00")
    max_negative_records: int = 0


@dataclass(frozen=True)
class CreditAssessmentInput:
    score: int
    negative_records: int
    monthly_income: Decimal
    requested_amount: Decimal
    outstanding_exposure: Decimal


@dataclass(frozen=True)
class CreditDecision:
    outcome: Literal["approve", "decline", "manual_review"]
    reasons: tuple[str, ...] = field(default_factory=tuple)
    risk_band: str | None = None
    monthly_rate: Decimal | None = None


def band_for(score: int, policy: CreditPolicy) -> RiskBand | None:
    for band in policy.bands:
        if score >= band.min_score:
            return band
    return None


def decide_credit(applicant: CreditAssessmentInput, policy: CreditPolicy) -> CreditDecision:
    """Hard rules decline; borderline cases go to manual review; the rest approve at the band's rate."""
    declines: list[str] = []
    reviews: list[str] = []
    if applicant.negative_records > policy.max_negative_records:
        declines.append("negative_records")
    exposure_cap = applicant.monthly_income * policy.max_exposure_income_multiple
    if applicant.outstanding_exposure + applicant.requested_amount > exposure_cap:
        declines.append("exposure_limit")
    band = band_for(applicant.score, policy)
    if band is None:
        if applicant.score >= policy.manual_review_min_score:
            reviews.append("score_below_bands")
            band = policy.bands[-1]
        else:
            declines.append("score_too_low")
    if declines:
        return CreditDecision("decline", tuple(declines))
    assert band is not None
    if applicant.requested_amount > policy.manual_review_above_amount:
        reviews.append("amount_above_review_threshold")
    if reviews:
        return CreditDecision("manual_review", tuple(reviews), band.name, band.monthly_rate)
    return CreditDecision("approve", (), band.name, band.monthly_rate)


def affordable(installment: Decimal, monthly_income: Decimal, policy: CreditPolicy) -> bool:
    """Whether the largest installment fits in the income share the policy allows."""
    return installment <= monthly_income * policy.max_installment_income_share
