"""A person's name cannot be recognised in free text, so no log call puts one there.

The masker (``lendflow.logging``) hides CPFs and e-mail addresses wherever they stand, and any value
of a field whose name says it is personal (``full_name=``, ``email=``, ``address=``...). A name
formatted into a message (``workflow.logger.info("signed by %s", signer.full_name)``) or into a
field of another name (``detail=f"... {customer.name}"``) would pass it in clear. This test reads
every log call of the project's code and fails on one that does.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

from lendflow.logging import is_personal_field

ROOT = Path(__file__).resolve().parents[2]
# Every package that runs in a process whose log lines are kept.
PACKAGES = ("activities", "api", "domain", "integrations", "lendflow", "pipeline", "storage", "workers", "workflows")
LOG_METHODS = frozenset({"debug", "info", "warning", "warn", "error", "exception", "critical", "msg", "log"})
# ``.name`` of these is a process's, a stage's or a service's, never a person's.
NOT_A_PERSON = frozenset({"self", "cls", "spec", "stage", "service", "settings", "path", "topic"})


def _is_logger(node: ast.expr) -> bool:
    """``log``, ``logger``, ``self.log``, ``workflow.logger``, ``activity.logger``, ``log.bind(...)``."""
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in ("bind", "new"):
        return _is_logger(node.func.value)
    name = node.id if isinstance(node, ast.Name) else node.attr if isinstance(node, ast.Attribute) else ""
    return name.lower().endswith(("log", "logger"))


def _personal_names(node: ast.AST) -> Iterator[str]:
    """Identifiers of personal fields read anywhere inside an expression."""
    for inner in ast.walk(node):
        if isinstance(inner, ast.Attribute) and is_personal_field(inner.attr):
            if inner.attr == "name" and _last_identifier(inner.value) in NOT_A_PERSON:
                continue
            yield ast.unparse(inner)
        elif isinstance(inner, ast.Name) and is_personal_field(inner.id):
            yield inner.id
        elif isinstance(inner, ast.Constant) and isinstance(inner.value, str) and _is_subscript_key(inner, node):
            yield repr(inner.value)


def _last_identifier(node: ast.expr) -> str:
    return node.id if isinstance(node, ast.Name) else node.attr if isinstance(node, ast.Attribute) else ""


def _is_subscript_key(constant: ast.Constant, root: ast.AST) -> bool:
    """``customer["full_name"]``: a personal field read by key."""
    return any(
        isinstance(inner, ast.Subscript) and inner.slice is constant and is_personal_field(str(constant.value))
        for inner in ast.walk(root)
    )


def leaks(source: str, filename: str = "<source>") -> list[str]:
    """Log calls in ``source`` that carry a personal field's value outside a field named for it."""
    found: list[str] = []
    for node in ast.walk(ast.parse(source, filename)):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
            continue
        if node.func.attr not in LOG_METHODS or not _is_logger(node.func.value):
            continue
        carriers: list[ast.AST] = list(node.args)
        for keyword in node.keywords:
            # ``full_name=customer.full_name`` is masked by its key, whatever the value; the rest is checked.
            if keyword.arg is None or not is_personal_field(keyword.arg):
                carriers.append(keyword.value)
        for carrier in carriers:
            for name in _personal_names(carrier):
                found.append(f"{filename}:{node.lineno}: {name} in {ast.unparse(node)[:120]}")
    return found


def test_the_checker_finds_a_name_formatted_into_a_message_or_another_field() -> None:
    source = """
workflow.logger.info("contract signed by %s", signer.full_name)
log.warning("kyc.failed", detail=f"{customer.declared_name} rejected")
self.log.info(f"sent to {email}")
activity.logger.info("moved", extra={"who": row["name"]})
log.bind(step="x").info("address.changed", where=str(address))
log.info("customer.registered", customer=customer.name)
"""
    assert len(leaks(source)) == 6


def test_the_checker_allows_personal_data_in_fields_named_for_it() -> None:
    source = """
log.info("customer.registered", full_name=customer.full_name, email=row["email"], cpf=cpf)
workflow.logger.info("onboarding finished: %s (%s)", outcome, reason)
log.info("services.ready", service=self.name, address=self.address(), customer_id=customer.id)
log.info("run.child_started", process=child.spec.name)
logging.getLogger(__name__).info("x")
"""
    assert leaks(source) == []


def test_no_log_call_in_the_project_formats_a_personal_field_into_free_text() -> None:
    found: list[str] = []
    files = [path for package in PACKAGES for path in sorted((ROOT / package).rglob("*.py"))]
    assert len(files) > 50  # the walk found the code
    for path in files:
        found += leaks(path.read_text(), str(path.relative_to(ROOT)))
    assert found == []
