"""`POST /v1/loan-simulations`: what a loan would cost, before any login.

The answer comes from the credit kernel (`domain.credit.simulate`), the same one `lendflow quote`
and the origination workflow use. Money travels as decimal strings: the request's amounts must be
JSON strings ("10000.00", never 10000.0), and every amount in the answer is a string with two
decimals. Bad input answers 422 `application/problem+json` naming each bad field, in two passes:
first the shape of the body (unknown fields, malformed decimals, wrong types), then the rules of
the kernel and the lender's limits from settings (`Settings.credit`), all reported together.

Rates have one representation, both ways: percent with two decimals. The request's
`monthly_rate_percent` is `"1.99"` for 1,99 % a month, as the answer's CET and the offer's rates are
written (`api.fields.RatePercentOut`); the kernel gets it as the fraction 0.0199.
"""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from typing import Annotated, Literal

from fastapi import APIRouter, Response
from fastapi.exceptions import RequestValidationError
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    StrictBool,
    StrictInt,
    WithJsonSchema,
)
from pydantic_core import PydanticCustomError
from starlette.concurrency import run_in_threadpool

from api.deps import SettingsDep
from api.fields import DateIn
from api.problems import PROBLEM_MEDIA_TYPE, Problem
from domain.business_calendar import business_today
from domain.credit import (
    Amortization,
    CustomerType,
    Fee,
    InvalidLoanTerms,
    LoanSimulation,
    LoanTerms,
    OfferLimits,
    TermProblem,
    problems_with,
    problems_with_limits,
    simulate,
)
from domain.credit.due_dates import add_months
from domain.credit.money import as_percent

router = APIRouter(tags=["loan simulations"])

_DECIMAL_TEXT = re.compile(r"-?\d{1,20}(\.\d{1,12})?")


def _decimal_from_string(value: object) -> Decimal:
    if not isinstance(value, str):
        raise PydanticCustomError("decimal_string", 'must be a decimal string such as "1500.00", not a JSON number')
    if not _DECIMAL_TEXT.fullmatch(value.strip()):
        raise PydanticCustomError(
            "decimal_string", 'must be a decimal string such as "1500.00" (digits, an optional point and decimals)'
        )
    return Decimal(value.strip())


_PERCENT_TEXT = re.compile(r"-?\d{1,3}(\.\d{1,2})?")
RATE_FIELD = "monthly_rate_percent"


def _percent_from_string(value: object) -> Decimal:
    if not isinstance(value, str) or not _PERCENT_TEXT.fullmatch(value.strip()):
        raise PydanticCustomError(
            "percent_string", 'must be a percentage as a string with up to two decimals, e.g. "1.99" for 1,99 % a month'
        )
    return Decimal(value.strip())


PercentString = Annotated[
    Decimal,
    BeforeValidator(_percent_from_string),
    WithJsonSchema({"type": "string", "pattern": f"^{_PERCENT_TEXT.pattern}$", "examples": ["1.99"]}),
]
DecimalString = Annotated[
    Decimal,
    BeforeValidator(_decimal_from_string),
    WithJsonSchema({"type": "string", "pattern": f"^{_DECIMAL_TEXT.pattern}$"}),
]
# Amounts in reais and rates in percent, both as strings with two decimals.
TwoDecimals = Annotated[
    Decimal,
    PlainSerializer(lambda value: f"{value:.2f}", return_type=str),
    WithJsonSchema({"type": "string", "pattern": r"^-?\d+\.\d{2}$"}, mode="serialization"),
]


class FeeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Annotated[str, Field(min_length=1, max_length=80)]
    amount: Annotated[DecimalString, Field(description='Reais, paid upfront, e.g. "50.00"')]


class LoanSimulationRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    amount: Annotated[DecimalString, Field(description='Amount asked, in reais, e.g. "10000.00"')]
    term_months: StrictInt
    monthly_rate_percent: Annotated[
        PercentString,
        Field(
            description=(
                "Monthly effective interest rate in percent with up to two decimals, as every rate the API "
                'answers with: "1.99" is 1,99 % a month. From 0.00 to the lender\'s cap (Settings.credit)'
            )
        ),
    ]
    amortization: Amortization
    release_date: DateIn | None = Field(default=None, description="Defaults to today in Brasília")
    first_due_date: DateIn | None = Field(default=None, description="Defaults to one month after the release")
    customer_type: CustomerType = CustomerType.INDIVIDUAL
    finance_iof: StrictBool = False
    grace_months: StrictInt = Field(
        default=0,
        description=(
            "Months of grace (carência): the first installment falls this many months after "
            "first_due_date, and the interest until one month before it is capitalised"
        ),
    )
    fees: Annotated[list[FeeIn], Field(max_length=20)] = []


class InstallmentOut(BaseModel):
    number: int
    due_date: date
    payment: TwoDecimals
    interest: TwoDecimals
    amortization: TwoDecimals
    balance: TwoDecimals


class IofOut(BaseModel):
    daily: TwoDecimals
    flat: TwoDecimals
    total: TwoDecimals


class AssumptionsOut(BaseModel):
    day_count: str
    rounding: str
    iof_table_version: str
    iof_legal_basis: str
    iof_daily_rate: str
    iof_flat_rate: str


class LoanSimulationResponse(BaseModel):
    amortization: Literal["price", "sac"]
    installments: list[InstallmentOut]
    iof: IofOut
    fees_total: TwoDecimals
    amount_financed: TwoDecimals
    amount_released: TwoDecimals
    total_payable: TwoDecimals
    total_interest: TwoDecimals
    capitalized_interest: TwoDecimals
    # Rates in the API's one representation (api.fields.RatePercentOut): percent, two decimals.
    cet_monthly: TwoDecimals = Field(
        description='CET (Resolução CMN 4.881/2020), percent a month with two decimals: "2.33" is 2,33 % a month'
    )
    cet_annual: TwoDecimals = Field(
        description='CET, percent a year with two decimals, rounded half-even as disclosed: "31.88" is 31,88 % a year'
    )
    assumptions: AssumptionsOut


@router.post(
    "/v1/loan-simulations",
    response_model=LoanSimulationResponse,
    summary="Simulate a loan: installments, IOF, fees and CET",
    responses={422: {"model": Problem, "content": {PROBLEM_MEDIA_TYPE: {}}}},
)
async def create_loan_simulation(body: LoanSimulationRequest, settings: SettingsDep) -> Response:
    terms = _terms_from(body)
    limits = OfferLimits(**settings.credit.model_dump())
    problems = problems_with(terms)
    already_bad = {problem.field for problem in problems}
    problems += [p for p in problems_with_limits(terms, limits) if p.field not in already_bad]
    if problems:
        raise _validation_error([_in_percent(p, limits) for p in problems])
    try:
        # A short schedule prices in a fraction of a millisecond: on the event loop, that is cheaper
        # than the hop to the threadpool. A long one would hold the loop for milliseconds.
        if terms.term_months + terms.grace_months <= INLINE_MAX_MONTHS:
            simulation = simulate(terms)
        else:
            simulation = await run_in_threadpool(simulate, terms)
    except InvalidLoanTerms as exc:
        raise _validation_error([_in_percent(p, limits) for p in exc.problems]) from exc
    # The response model is built (and validated) once, here; FastAPI would validate it again.
    return Response(_response(simulation).model_dump_json(), media_type="application/json")


INLINE_MAX_MONTHS = 60


def today_in_brazil() -> date:
    return business_today()


def _terms_from(body: LoanSimulationRequest) -> LoanTerms:
    release = body.release_date or today_in_brazil()
    return LoanTerms(
        amount=body.amount,
        term_months=body.term_months,
        monthly_rate=body.monthly_rate_percent / 100,
        amortization=body.amortization,
        release_date=release,
        first_due_date=body.first_due_date or add_months(release, 1),
        customer_type=body.customer_type,
        finance_iof=body.finance_iof,
        grace_months=body.grace_months,
        fees=tuple(Fee(name=fee.name, amount=fee.amount) for fee in body.fees),
    )


def _in_percent(problem: TermProblem, limits: OfferLimits) -> TermProblem:
    """The kernel names the rate as the fraction it works with; the caller sent it in percent."""
    if problem.field != "monthly_rate":
        return problem
    if problem.code == "limit":
        cap = as_percent(limits.max_monthly_rate)
        return TermProblem(RATE_FIELD, problem.code, f"must not exceed {cap:.2f} (percent a month)")
    return TermProblem(RATE_FIELD, problem.code, problem.message)


def _validation_error(problems: list[TermProblem]) -> RequestValidationError:
    return RequestValidationError(
        [{"loc": ("body", *p.field.split(".")), "msg": p.message, "type": p.code} for p in problems]
    )


def _response(simulation: LoanSimulation) -> LoanSimulationResponse:
    schedule = simulation.schedule
    assumptions = simulation.assumptions
    return LoanSimulationResponse(
        amortization=schedule.amortization.value,
        # The kernel's rows are already the right types: built without validating each (up to 420).
        installments=[
            InstallmentOut.model_construct(
                number=i.number,
                due_date=i.due_date,
                payment=i.payment,
                interest=i.interest,
                amortization=i.amortization,
                balance=i.balance,
            )
            for i in schedule.installments
        ],
        iof=IofOut(daily=simulation.iof.daily, flat=simulation.iof.flat, total=simulation.iof.total),
        fees_total=simulation.fees_total,
        amount_financed=simulation.amount_financed,
        amount_released=simulation.amount_released,
        total_payable=simulation.total_payable,
        total_interest=simulation.total_interest,
        capitalized_interest=schedule.capitalized_interest,
        cet_monthly=simulation.cet.monthly_percent,
        cet_annual=simulation.cet.annual_percent,
        assumptions=AssumptionsOut(
            day_count=assumptions.day_count,
            rounding=assumptions.rounding,
            iof_table_version=assumptions.iof_table_version,
            iof_legal_basis=assumptions.iof_legal_basis,
            iof_daily_rate=f"{(assumptions.iof_rates.daily * 100).normalize():f}%",
            iof_flat_rate=f"{(assumptions.iof_rates.flat * 100).normalize():f}%",
        ),
    )
