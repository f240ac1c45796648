"""Keyset pagination's storage half: the cursor (where the previous page ended) and the conditions
that continue a list ordered by ``(created_at, id)`` after it.

A cursor is opaque to the caller: base64url of the last item's sort key. Anything that is not a
cursor this code handed out raises :class:`BadCursor`; the API answers it as a 422 on ``cursor``.
"""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, or_, true


class BadCursor(ValueError):
    """The text is not a cursor this code handed out, or not one for this list."""


@dataclass(frozen=True)
class Cursor:
    """Where the previous page ended: the last item's key, and its timestamp when lists sort by time."""

    key: str
    at: datetime | None = None

    def uuid_key(self) -> uuid.UUID:
        try:
            return uuid.UUID(self.key)
        except ValueError as exc:
            raise BadCursor(self.key) from exc

    def int_key(self) -> int:
        if not self.key.isdigit() or len(self.key) > 18:
            raise BadCursor(self.key)
        return int(self.key)

    def encode(self) -> str:
        raw = json.dumps([self.at.isoformat() if self.at else None, self.key], separators=(",", ":"))
        return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")

    @staticmethod
    def decode(text: str) -> Cursor:
        try:
            padded = text + "=" * (-len(text) % 4)
            at, key = json.loads(base64.urlsafe_b64decode(padded.encode()).decode())
            if not isinstance(key, str) or not (at is None or isinstance(at, str)):
                raise ValueError("bad cursor")
            parsed = datetime.fromisoformat(at) if at else None
            if parsed is not None and parsed.tzinfo is None:
                raise ValueError("bad cursor")
            return Cursor(key=key, at=parsed)
        except (ValueError, TypeError, binascii.Error, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise BadCursor(text) from exc


def newest_first_after(created_at: Any, id_column: Any, cursor: Cursor | None) -> Any:
    """The keyset condition of a list ordered by (created_at, id) descending, after ``cursor``."""
    if cursor is None:
        return true()
    if cursor.at is None:
        raise BadCursor(cursor.key)
    last_id = cursor.uuid_key()
    return or_(created_at < cursor.at, and_(created_at == cursor.at, id_column < last_id))


def oldest_first_after(created_at: Any, id_column: Any, cursor: Cursor | None) -> Any:
    """The keyset condition of a list ordered by (created_at, id) ascending, after ``cursor``."""
    if cursor is None:
        return true()
    if cursor.at is None:
        raise BadCursor(cursor.key)
    last_id = cursor.uuid_key()
    return or_(created_at > cursor.at, and_(created_at == cursor.at, id_column > last_id))
