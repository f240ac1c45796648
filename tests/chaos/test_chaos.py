"""The chaos suite at a small size: every scenario on one stack of its own, each fault real, every
invariant holding, nothing doubled, lost or stuck.

The stack (its own PostgreSQL, Redis, Kafka broker, Temporal dev server and the supervised
processes) comes up once for the module; each scenario drives a few journeys through it while its
fault strikes. A scenario that needs two workers and two pipelines restarts the processes.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator

import pytest

from lendflow.chaos.invariants import cpf_leaks, transition_allowed
from lendflow.chaos.runner import run_scenario, table
from lendflow.chaos.scenarios import SCENARIOS
from lendflow.chaos.stack import ChaosStack

# Not through the conftest's fixture names: this module starts services and processes of its own.
pytestmark = pytest.mark.services

JOURNEYS = int(os.environ.get("LENDFLOW_CHAOS_TEST_JOURNEYS", "3"))
TESTED = list(SCENARIOS)


@pytest.fixture(scope="module")
def chaos_stack() -> Iterator[ChaosStack]:
    stack = ChaosStack()
    try:
        stack.up()
        yield stack
    finally:
        stack.down()


@pytest.fixture
async def fresh(chaos_stack: ChaosStack) -> AsyncIterator[ChaosStack]:
    yield chaos_stack


@pytest.mark.timeout(600)
@pytest.mark.parametrize("name", TESTED)
async def test_the_scenario_heals_by_itself_with_every_invariant_holding(chaos_stack: ChaosStack, name: str) -> None:
    scenario = SCENARIOS[name]
    result = await run_scenario(chaos_stack, scenario, JOURNEYS, concurrency=JOURNEYS, timeout=420, say=lambda _l: None)
    report = table([result]) + "\n" + "\n".join(f"{c.name}: {c.detail}" for c in result.verdict.checks)
    report += "\n" + "\n".join(result.errors)
    # The fault really struck (a pid changed, the broker restarted, the rules were set...).
    assert result.fault.struck, result.fault.detail
    assert all(check.ok for check in result.verdict.checks), report
    assert (result.doubled, result.lost, result.stuck) == (0, 0, 0), report
    assert result.disbursed == JOURNEYS, report
    assert result.verdict.payouts == JOURNEYS, report
    assert all(len(r.answered_ids) == 1 for r in result.records), report


def test_a_move_back_or_out_of_a_terminal_status_is_not_allowed() -> None:
    assert transition_allowed("submitted", "analyzing")
    assert transition_allowed("disbursing", "disbursed")
    assert transition_allowed("contract_sent", "expired")
    assert not transition_allowed("disbursed", "disbursing")
    assert not transition_allowed("signed", "offer_ready")
    assert not transition_allowed("failed", "disbursed")


def test_a_cpf_is_found_bare_or_formatted_and_a_masked_one_is_not() -> None:
    assert cpf_leaks('{"cpf": "52998224725"}', ["52998224725"]) == 1
    assert cpf_leaks("cpf=529.982.247-25", ["52998224725"]) == 1
    assert cpf_leaks("cpf=***.982.247-**", ["52998224725"]) == 0
