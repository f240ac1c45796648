"""The layers import downwards only: the API may use storage, the domain and the workflows' contracts,
but nothing below the API imports it, so a worker or the pipeline never loads FastAPI and the
repositories can be used by the CLI and activities alike."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BELOW_THE_API = ("storage", "domain", "workflows", "activities", "pipeline", "integrations", "workers")


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


@pytest.mark.parametrize("package", BELOW_THE_API)
def test_nothing_below_the_api_imports_it(package: str) -> None:
    offenders = {
        str(path.relative_to(ROOT)): sorted(m for m in imported_modules(path) if m == "api" or m.startswith("api."))
        for path in (ROOT / package).rglob("*.py")
    }
    assert {path: modules for path, modules in offenders.items() if modules} == {}


def test_the_check_sees_an_import_of_the_api(tmp_path: Path) -> None:
    module = tmp_path / "m.py"
    module.write_text("def f():\n    from api.pagination import Page\n    return Page\n")
    assert imported_modules(module) == {"api.pagination"}
