"""Settings refuse combinations that would break a promise at run time, naming both values."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from lendflow.settings import AuthSettings, PipelineSettings, RedisSettings, Settings


def test_an_ops_session_must_not_end_before_its_access_tokens() -> None:
    with pytest.raises(ValidationError, match="ops_session_max_seconds \\(600\\) must be at least"):
        AuthSettings(ops_session_max_seconds=600, ops_access_ttl_seconds=900)
    assert AuthSettings(ops_session_max_seconds=900, ops_access_ttl_seconds=900).ops_session_max_seconds == 900


def test_dedupe_claims_must_outlast_the_redis_marks() -> None:
    with pytest.raises(ValidationError, match="retention_days \\(7\\) must outlast the Redis dedupe marks"):
        Settings(pipeline=PipelineSettings(retention_days=7), redis=RedisSettings(dedupe_ttl_seconds=7 * 86_400))
    assert Settings(pipeline=PipelineSettings(retention_days=8)).pipeline.retention_days == 8
