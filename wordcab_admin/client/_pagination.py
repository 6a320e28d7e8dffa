"""Lists: the API answers pages `{"next", "previous", "results"}` (newest first); the client walks them."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Generic, TypeVar
from urllib.parse import parse_qsl, urlsplit

from wordcab_admin.client._http import Transport
from wordcab_admin.client.models import APIObject

T = TypeVar("T", bound=APIObject)


class Paginated(Generic[T]):
    """Every item of a list, page after page, fetched as the iteration reaches it.

    `for call in client.calls.list(status="completed")` reads all of them; `.pages()` yields one list per
    page; `.first(n)` stops after n items (and fetches no page beyond)."""

    def __init__(self, transport: Transport, path: str, params: dict[str, Any], model: type[T]):
        self._transport, self._path, self._params, self._model = transport, path, params, model

    def pages(self) -> Iterator[list[T]]:
        params = dict(self._params)
        while True:
            page = self._transport.request("GET", self._path, params=params).json()
            yield [self._model(item) for item in page.get("results", [])]
            following = page.get("next")
            if not following:
                return
            # Only the cursor is taken from `next`: its host is the one the server saw, which may not be
            # the one this client reaches it by (a proxy in between).
            params = {**self._params, **dict(parse_qsl(urlsplit(following).query))}

    def __iter__(self) -> Iterator[T]:
        for page in self.pages():
            yield from page

    def first(self, count: int) -> list[T]:
        items: list[T] = []
        if count <= 0:
            return items
        for page in self.pages():
            items += page[: count - len(items)]
            if len(items) >= count:
                break
        return items
