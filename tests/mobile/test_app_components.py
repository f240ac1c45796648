"""The app's own component tests (jest-expo + @testing-library/react-native) are part of the suite.

`npm test -- --ci` runs them in `mobile/`; a failing jest test fails this one, with jest's report.
"""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest

from lendflow.commands.app import MOBILE_DIR, ensure_dependencies

# npm installs the app's packages when they are missing and runs jest and tsc as processes: not the fast loop.
pytestmark = [pytest.mark.timeout(900), pytest.mark.services]


def test_component_tests_pass() -> None:
    assert shutil.which("npm"), "Node.js (npm) is needed to test the app"
    ensure_dependencies(MOBILE_DIR, say=print)
    completed = subprocess.run(
        ["npm", "test", "--", "--ci", "--colors=false"], cwd=MOBILE_DIR, capture_output=True, text=True, timeout=800
    )
    report = completed.stdout + completed.stderr
    assert completed.returncode == 0, report[-6000:]
    summary = re.search(r"Tests:\s+(?:(\d+) failed, )?(?:\d+ skipped, )?(\d+) passed, (\d+) total", report)
    assert summary is not None, report[-3000:]
    failed, passed, total = summary.groups()
    assert failed is None and int(passed) == int(total) > 0, summary.group(0)


def test_the_app_type_checks_strictly() -> None:
    ensure_dependencies(MOBILE_DIR, say=print)
    completed = subprocess.run(["npm", "run", "typecheck"], cwd=MOBILE_DIR, capture_output=True, text=True, timeout=600)
    assert completed.returncode == 0, (completed.stdout + completed.stderr)[-6000:]
