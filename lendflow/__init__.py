"""Lendflow: the process entry points, settings, logging and the local service stack."""

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
