"""The journey contracts hold the processes together: what the bridge, the API and the activities
name exists on the real workflow and activity classes, and the contracts load nothing heavy."""

from __future__ import annotations

import inspect
import json
import subprocess
import sys
import typing
from pathlib import Path

import pytest
from temporalio import activity, workflow
from temporalio.exceptions import ApplicationError

import integrations.errors
from activities.onboarding import OnboardingActivities
from activities.origination import OriginationActivities
from activities.provider_errors import provider_call
from activities.servicing import ServicingActivities
from pipeline.bridge import ROUTES
from workflows.contracts import onboarding, origination, servicing
from workflows.contracts.events import ProviderEvent
from workflows.contracts.origination import (
    CANCELLABLE_STATUSES,
    EXPOSURE_STATUSES,
    OPEN_STATUSES,
    TERMINAL_STATUSES,
    ApplicationStatus,
)
from workflows.onboarding import OnboardingWorkflow
from workflows.origination import LoanOriginationWorkflow
from workflows.servicing import ServicingWorkflow

ROOT = Path(__file__).resolve().parents[2]

JOURNEYS = [
    (onboarding, OnboardingWorkflow, onboarding.OnboardingActivityContract, OnboardingActivities),
    (origination, LoanOriginationWorkflow, origination.OriginationActivityContract, OriginationActivities),
    (servicing, ServicingWorkflow, servicing.ServicingActivityContract, ServicingActivities),
]


def _definition(cls: type) -> workflow._Definition:
    definition = workflow._Definition.from_class(cls)
    assert definition is not None, f"{cls.__name__} is not a workflow"
    return definition


def test_every_signal_the_bridge_routes_exists_on_the_real_workflow_and_takes_a_provider_event() -> None:
    by_template = {contract.WORKFLOW_ID_TEMPLATE: workflow_cls for contract, workflow_cls, _, _ in JOURNEYS}
    assert ROUTES, "the bridge routes nothing"
    for event_type, route in ROUTES.items():
        assert route.workflow_id in by_template, f"{event_type}: no journey's workflow id is {route.workflow_id}"
        definition = _definition(by_template[route.workflow_id])
        assert route.signal in definition.signals, f"{event_type}: {definition.name} has no signal {route.signal}"
        handler = definition.signals[route.signal].fn
        argument = list(typing.get_type_hints(handler).values())[0]
        assert argument is ProviderEvent, f"{definition.name}.{route.signal} takes {argument}, not ProviderEvent"


def test_the_contracts_name_the_workflows_and_every_signal_update_and_query_they_have() -> None:
    for contract, workflow_cls, _, _ in JOURNEYS:
        definition = _definition(workflow_cls)
        assert definition.name == contract.WORKFLOW_TYPE
        assert set(definition.signals) == contract.SIGNALS, definition.name
        assert set(definition.updates) == contract.UPDATES, definition.name
        assert set(definition.queries) == contract.QUERIES, definition.name


def test_the_workflow_ids_follow_the_templates_the_bridge_fills() -> None:
    assert onboarding.onboarding_workflow_id("c1") == "onboarding-c1"
    assert origination.loan_workflow_id("a1") == "loan-a1"
    assert servicing.servicing_workflow_id("a1") == "servicing-a1"


@pytest.mark.parametrize(("contract", "implementation"), [(j[2], j[3]) for j in JOURNEYS])
def test_each_activity_stub_is_implemented_under_its_name_with_its_types(contract: type, implementation: type) -> None:
    stubs = {
        name: fn
        for name, fn in vars(contract).items()
        if callable(fn) and getattr(fn, "__temporal_activity_definition", None) is not None
    }
    assert stubs
    for name, stub in stubs.items():
        real = getattr(implementation, name)
        assert real is not stub, f"{implementation.__name__}.{name} is not implemented"
        assert activity._Definition.must_from_callable(real).name == activity._Definition.must_from_callable(stub).name
        stub_hints = typing.get_type_hints(stub)
        real_hints = typing.get_type_hints(real)
        assert stub_hints == real_hints, f"{implementation.__name__}.{name}: {real_hints} != {stub_hints}"
        assert list(inspect.signature(real).parameters) == list(inspect.signature(stub).parameters)


def test_provider_refusals_keep_the_class_names_the_workflow_pauses_on() -> None:
    """Renaming integrations.errors.PixKeyNotFound would otherwise silently stop a refused payout
    from pausing for ops: the refusal reaches the workflow under the class's name."""
    assert origination.PROVIDER_REFUSALS
    for name in origination.PROVIDER_REFUSALS:
        error_cls = getattr(integrations.errors, name, None)
        assert isinstance(error_cls, type) and issubclass(error_cls, integrations.errors.BusinessRefusal), name
        with pytest.raises(ApplicationError) as raised, provider_call():
            raise error_cls("refused", provider="pix", operation="pix.create_payout")
        assert raised.value.type == name and raised.value.non_retryable
    correctable = origination.OriginationPolicy().correctable_refusals
    assert origination.refusal_key(origination.DISBURSEMENT_STEP, origination.PIX_KEY_NOT_FOUND) in correctable
    assert origination.refusal_key(origination.DISBURSEMENT_STEP, origination.PIX_KEY_NOT_THE_CUSTOMERS) in correctable


def test_the_status_sets_are_defined_once_from_the_enum() -> None:
    assert set(ApplicationStatus) == TERMINAL_STATUSES | OPEN_STATUSES
    assert not TERMINAL_STATUSES & OPEN_STATUSES
    assert CANCELLABLE_STATUSES < OPEN_STATUSES
    assert ApplicationStatus.DISBURSING in OPEN_STATUSES - CANCELLABLE_STATUSES
    assert ApplicationStatus.DISBURSED in EXPOSURE_STATUSES and ApplicationStatus.SUBMITTED not in EXPOSURE_STATUSES
    # The read model's column holds the value: a plain string, as before the enum.
    assert json.dumps(ApplicationStatus.OFFER_READY) == '"offer_ready"'


def test_contracts_and_workflows_load_no_database_http_or_logging_library() -> None:
    heavy = [
        "sqlalchemy",
        "httpx",
        "structlog",
        "pydantic",
        "confluent_kafka",
        "fastapi",
        "lendflow",
        "storage",
        "integrations",
    ]
    script = (
        "import json, sys\n"
        "import workflows.contracts.onboarding, workflows.contracts.origination, workflows.contracts.servicing\n"
        "contracts = sorted({m.split('.')[0] for m in sys.modules})\n"
        "import workflows.onboarding, workflows.origination, workflows.servicing\n"
        "print(json.dumps([contracts, sorted({m.split('.')[0] for m in sys.modules}),"
        " sorted(m for m in sys.modules if m.startswith('activities'))]))\n"
    )
    out = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=True)
    contracts, workflows_, activities = json.loads(out.stdout)
    assert not set(heavy) & set(contracts), set(heavy) & set(contracts)
    assert not set(heavy) & set(workflows_), set(heavy) & set(workflows_)
    # Only the ping's activity (standard library and temporalio) is an activity module a workflow loads.
    assert set(activities) <= {"activities", "activities.diagnostics"}, activities
