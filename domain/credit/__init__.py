"""The credit math kernel: every price Lendflow shows or signs comes from here.

Pure (standard library only, no I/O, no clock), so Temporal workflows can import it inside the
sandbox; `Decimal` throughout and frozen dataclasses in and out. Modules:

- `money`: the decimal context and centavo rounding;
- `due_dates`: monthly due dates;
- `schedule`: Price and SAC schedules, first period pro rata, grace with capitalised interest;
- `iof`: the effective-dated IOF-Crédito rate table and the tax (Decreto 6.306/2007, art. 7);
- `cet`: the Custo Efetivo Total (Resolução CMN 4.881/2020);
- `late`: fine, default and contract interest on a late installment (CDC art. 52 § 1);
- `settlement`: early settlement, total or partial (CDC art. 52 § 2);
- `terms` and `simulation`: the terms a customer asks for and the simulation every channel shares.
"""

from domain.credit.cet import CetRate
from domain.credit.iof import IOF_CREDIT_RATES, CustomerType, IofCharge, IofRates, IofRateVersion
from domain.credit.late import LateCharges, late_charges
from domain.credit.schedule import Amortization, Installment, Schedule, build_schedule
from domain.credit.settlement import PartialSettlement, Settlement, settle_partially, settlement_on
from domain.credit.simulation import LoanSimulation, SimulationAssumptions, simulate
from domain.credit.terms import (
    Fee,
    InvalidLoanTerms,
    LoanTerms,
    OfferLimits,
    TermProblem,
    problems_with,
    problems_with_limits,
)

__all__ = [
    "IOF_CREDIT_RATES",
    "Amortization",
    "CetRate",
    "CustomerType",
    "Fee",
    "Installment",
    "InvalidLoanTerms",
    "IofCharge",
    "IofRateVersion",
    "IofRates",
    "LateCharges",
    "LoanSimulation",
    "LoanTerms",
    "OfferLimits",
    "PartialSettlement",
    "Schedule",
    "Settlement",
    "SimulationAssumptions",
    "TermProblem",
    "build_schedule",
    "late_charges",
    "problems_with",
    "problems_with_limits",
    "settle_partially",
    "settlement_on",
    "simulate",
]
