"""Workflow code states its invariants with typed errors, not `assert`: an assert vanishes under
`python -O`, and a bare AssertionError says nothing of what broke. The error is deliberately not an
ApplicationError, so a broken invariant fails the workflow task (retried until fixed code runs it)
instead of failing the loan without its compensations."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from temporalio.exceptions import ApplicationError

from workflows import origination, servicing

WORKFLOW_MODULES = [origination, servicing]


@pytest.mark.parametrize("module", WORKFLOW_MODULES, ids=lambda module: module.__name__)
def test_workflow_code_has_no_assert(module: object) -> None:
    source = Path(module.__file__).read_text()  # type: ignore[attr-defined]
    asserts = [node.lineno for node in ast.walk(ast.parse(source)) if isinstance(node, ast.Assert)]
    assert asserts == []


@pytest.mark.parametrize(
    ("required", "error"),
    [
        (origination._required, origination.WorkflowInvariantBroken),
        (servicing._required, servicing.ServicingInvariantBroken),
    ],
)
def test_a_missing_value_is_a_typed_task_failure_not_a_workflow_failure(required: object, error: type) -> None:
    assert required("value", "a value") == "value"  # type: ignore[operator]
    with pytest.raises(error):
        required(None, "a value")  # type: ignore[operator]
    assert not issubclass(error, ApplicationError)
