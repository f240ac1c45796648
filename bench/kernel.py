"""The credit kernel's `simulate()` next to the previous exact algorithm, same inputs, same run.

    .venv/bin/python bench/kernel.py [--repeat 7] [--budget 0.2]

For 12, 60 and 360 monthly installments, Price and SAC, with the IOF paid upfront and financed:
R$ 25,000.00 at 1.99% a month for a person, released 2026-01-15, first due date one month later,
a R$ 150.00 fee. The baseline is the previous exact kernel (commit c7cf959, kept as a reference in
`tests/domain/credit_reference.py`, where the property tests compare the two); each row first
checks that both publish the same schedule, IOF, amounts and CET, then times each side.

Each figure is the process's CPU time per call (`time.process_time`), the best of `--repeat`
rounds, a round calling `simulate()` as many times as fit in `--budget` seconds (at least 3): the
kernel is single-threaded and does no I/O, so CPU time is its cost, and the best round is the one
least disturbed by other work on a shared machine. The ratio is baseline / ours (times faster).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "domain"))

import credit_reference  # noqa: E402

from domain.credit import Amortization, Fee, LoanSimulation, LoanTerms, simulate  # noqa: E402


def terms(term_months: int, amortization: Amortization, finance_iof: bool) -> LoanTerms:
    return LoanTerms(
        amount=Decimal("25000.00"),
        term_months=term_months,
        monthly_rate=Decimal("0.0199"),
        amortization=amortization,
        release_date=date(2026, 1, 15),
        first_due_date=date(2026, 2, 15),
        finance_iof=finance_iof,
        fees=(Fee("tarifa de cadastro", Decimal("150.00")),),
    )


def published(simulation: LoanSimulation) -> tuple[object, ...]:
    return (
        simulation.schedule,
        simulation.iof,
        simulation.amount_financed,
        simulation.amount_released,
        simulation.cet.monthly_percent,
        simulation.cet.annual_percent,
    )


def seconds_per_call(call: Callable[[], object], repeat: int, budget: float) -> float:
    start = time.process_time()
    call()
    calls = max(3, int(budget / max(time.process_time() - start, 1e-6)))
    best = float("inf")
    for _ in range(repeat):
        start = time.process_time()
        for _ in range(calls):
            call()
        best = min(best, (time.process_time() - start) / calls)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--budget", type=float, default=0.2, help="seconds per round and side")
    args = parser.parse_args()

    print(f"{'installments':>12} {'schedule':>8} {'IOF':>8} {'baseline ms':>12} {'ours ms':>9} {'ratio':>7}")
    for term_months in (12, 60, 360):
        for amortization in (Amortization.PRICE, Amortization.SAC):
            for finance_iof in (False, True):
                loan = terms(term_months, amortization, finance_iof)
                if published(simulate(loan)) != published(credit_reference.simulate(loan)):
                    raise SystemExit(f"the fast kernel publishes other figures than the reference for {loan}")
                baseline = seconds_per_call(lambda loan=loan: credit_reference.simulate(loan), args.repeat, args.budget)
                ours = seconds_per_call(lambda loan=loan: simulate(loan), args.repeat, args.budget)
                print(
                    f"{term_months:>12} {amortization.value:>8} {'financed' if finance_iof else 'upfront':>8} "
                    f"{baseline * 1000:>12.3f} {ours * 1000:>9.3f} {baseline / ours:>6.1f}x"
                )


if __name__ == "__main__":
    main()
