"""Keyset pagination for every list: `?limit=&cursor=` in, `{items, next}` out.

``next`` is the relative URL of the following page (the same query with the new cursor), or null on
the last page. The cursor and the keyset conditions live in :mod:`storage.keyset`, beside the
repositories that use them; a :class:`~storage.keyset.BadCursor` answers 422 on ``cursor``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Annotated, Generic, TypeVar
from urllib.parse import urlencode

from fastapi import Depends, Query, Request
from pydantic import BaseModel, Field

from api.deps import SettingsDep
from storage.keyset import Cursor

T = TypeVar("T")
R = TypeVar("R")

MAX_PAGE_SIZE = 100


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
        return kept, self.link(cursor_of(kept[-1]))

    def link(self, cursor: Cursor) -> str:
        """The relative URL of the page that starts at ``cursor``: this query, with that cursor."""
        params = dict(self.request.query_params)
        params["cursor"] = cursor.encode()
        params["limit"] = str(self.limit)
        return f"{self.request.url.path}?{urlencode(params)}"


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
