"""The OpenAPI document the app client and the ops tools are generated from: the ops routes keep
their paths and operation ids across modules, and an application's status is the one enum."""

from __future__ import annotations

from typing import Any

import pytest

from api.main import create_app
from lendflow.settings import Settings
from workflows.contracts.origination import ApplicationStatus

OPS_OPERATIONS = {
    ("post", "/v1/ops/auth/token", "issue_operator_token"),
    ("post", "/v1/ops/auth/refresh", "refresh_operator_token"),
    ("post", "/v1/ops/auth/logout", "logout_operator"),
    ("get", "/v1/ops/applications", "ops_list_applications"),
    ("get", "/v1/ops/review-queue", "ops_review_queue"),
    ("get", "/v1/ops/applications/{application_id}", "ops_get_application"),
    ("post", "/v1/ops/applications/{application_id}/review", "ops_review_application"),
    ("post", "/v1/ops/applications/{application_id}/retry", "ops_retry_step"),
    ("post", "/v1/ops/applications/{application_id}/cancel", "ops_cancel_application"),
    ("get", "/v1/ops/dead-letters", "ops_list_dead_letters"),
    ("post", "/v1/ops/dead-letters/{partition}/{offset}/replay", "ops_replay_dead_letter"),
    ("get", "/v1/ops/audit-log", "ops_audit_log"),
}


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    return create_app(Settings(environment="test")).openapi()


def test_the_ops_routes_keep_their_paths_and_operation_ids(document: dict[str, Any]) -> None:
    found = {
        (method, path, operation["operationId"])
        for path, operations in document["paths"].items()
        if path.startswith("/v1/ops/")
        for method, operation in operations.items()
    }

    assert found == OPS_OPERATIONS


@pytest.mark.parametrize(
    ("schema", "field"),
    [
        ("LoanSummary", "status"),
        ("LoanApplicationView", "status"),
        ("OpsApplicationSummary", "status"),
        ("OpsApplicationView", "status"),
        ("CancellationAcceptedView", "status_when_requested"),
        ("OpsCancellationView", "status_when_requested"),
    ],
)
def test_an_application_status_is_the_enum_of_its_values(document: dict[str, Any], schema: str, field: str) -> None:
    schemas = document["components"]["schemas"]

    assert schemas[schema]["properties"][field]["$ref"] == "#/components/schemas/ApplicationStatus"
    assert schemas["ApplicationStatus"]["enum"] == [status.value for status in ApplicationStatus]


def test_a_dead_letter_page_says_whether_it_is_partial(document: dict[str, Any]) -> None:
    page = document["components"]["schemas"]["DeadLetterPage"]

    assert page["properties"]["partial"]["type"] == "boolean"
    assert "partial" in page["required"]
