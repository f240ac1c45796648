"""`lendflow quote` prints the same simulation the API answers."""

from __future__ import annotations

from typer.testing import CliRunner

from lendflow.cli import app


def test_quote_prints_the_textbook_price_installment_and_cet() -> None:
    result = CliRunner().invoke(
        app, ["quote", "10000.00", "12", "2.00", "--release-date", "2026-01-05", "--first-due-date", "2026-02-05"]
    )
    assert result.exit_code == 0, result.output
    assert "945.60" in result.output  # 2 % a month, as the API's monthly_rate_percent says it
    assert "CET" in result.output


def test_quote_refuses_a_malformed_amount_and_names_it() -> None:
    result = CliRunner().invoke(app, ["quote", "ten", "12", "2.00"])
    assert result.exit_code != 0
    assert "amount" in result.output
