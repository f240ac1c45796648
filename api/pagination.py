"""Keyset pagination for every list: `?limit=&cursor=` in, `{items, next}` out.

``next`` is the relative URL of the following page (the same query with the new cursor), or null on
the last page. A cursor is opaque to the caller: base64url of the last item's sort key.
"""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, Generic, TypeVar
from urllib.parse import urlencode

from fastapi import Depends, Query, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, Field
from sqlalchemy import and_, or_, true

from api.deps import SettingsDep

T = TypeVar("T")
R = TypeVar("R")

MAX_PAGE_SIZE = 100


@dataclass(frozen=True)
class Cursor:
    """Where the previous page ended: the last item's key, and its timestamp when lists sort by time."""

    key: str
    at: datetime | None = None

    def uuid_key(self) -> uuid.UUID:
        try:
            return uuid.UUID(self.key)
        except ValueError as exc:
            raise bad_cursor() from exc

    def int_key(self) -> int:
        if not self.key.isdigit() or len(self.key) > 18:
            raise bad_cursor()
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
            raise bad_cursor() from exc


def bad_cursor() -> RequestValidationError:
    return RequestValidationError(
        [{"loc": ("query", "cursor"), "msg": "is not a cursor this API handed out", "type": "cursor"}]
    )


def newest_first_after(created_at: Any, id_column: Any, cursor: Cursor | None) -> Any:
    """The keyset condition of a list ordered by (created_at, id) descending, after ``cursor``."""
    if cursor is None:
        return true()
    if cursor.at is None:
        raise bad_cursor()
    last_id = cursor.uuid_key()
    return or_(created_at < cursor.at, and_(created_at == cursor.at, id_column < last_id))


def oldest_first_after(created_at: Any, id_column: Any, cursor: Cursor | None) -> Any:
    """The keyset condition of a list ordered by (created_at, id) ascending, after ``cursor``."""
    if cursor is None:
        return true()
    if cursor.at is None:
        raise bad_cursor()
    last_id = cursor.uuid_key()
    return or_(created_at > cursor.at, and_(created_at == cursor.at, id_column > last_id))


@dataclass(frozen=True)
class PageRequest:
    limit: int
    after: Cursor | None
    request: Request

    def page(self, rows: Sequence[R], cursor_of: Callable[[R], Cursor]) -> tuple[list[R], str | None]:
        """The rows of this page (the query fetched ``limit + 1``) and the next page's URL."""
        if len(rows) <= self.limit:
            return list(rows), None
        kept = list(rows[: self.limit])
        params = dict(self.request.query_params)
        params["cursor"] = cursor_of(kept[-1]).encode()
        params["limit"] = str(self.limit)
        return kept, f"{self.request.url.path}?{urlencode(params)}"


def page_request(
    request: Request,
    settings: SettingsDep,
    limit: Annotated[int | None, Query(ge=1, le=MAX_PAGE_SIZE, description="Items per page (default 20).")] = None,
    cursor: Annotated[
        str | None,
        Query(
            min_length=1,
            max_length=400,
            pattern=r"^[A-Za-z0-9_-]+$",
            description="The cursor from the previous page's `next` link.",
        ),
    ] = None,
) -> PageRequest:
    size = min(limit or settings.api.default_page_size, settings.api.max_page_size, MAX_PAGE_SIZE)
    return PageRequest(limit=size, after=Cursor.decode(cursor) if cursor else None, request=request)


PageDep = Annotated[PageRequest, Depends(page_request)]


class Page(BaseModel, Generic[T]):
    items: list[T]
    next: str | None = Field(description="Relative URL of the next page; null on the last one.")
