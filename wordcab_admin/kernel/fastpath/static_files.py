"""WhiteNoise, usable in an async middleware chain.

Justified by `make bench BENCH=status_callbacks`: every request, static or not, passes this middleware.
WhiteNoiseMiddleware is sync-only, so under ASGI it splits Django's middleware chain in two and every
request pays two extra thread hops (async → sync → async → sync for the view). Static lookups are a dict
get (a stat in DEBUG), so doing them on the event loop is fine, and the chain stays async to the view.
Otherwise MIDDLEWARE would name `whitenoise.middleware.WhiteNoiseMiddleware` itself.

`_static_response` copies `WhiteNoiseMiddleware.__call__`, so it leans on WhiteNoise internals:
`autorefresh`, `find_file(path)` (with autorefresh, DEBUG by default), `files` (URL path → static file)
and `serve(static_file, request)`. Pinned by tests/core/test_fastpath.py (it answers as WhiteNoise's own
middleware does, sync and async; WhiteNoise is still sync-only) and tests/core/test_asgi_chain.py."""

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.http import HttpRequest, HttpResponseBase
from whitenoise.middleware import WhiteNoiseMiddleware


class AsyncCapableWhiteNoiseMiddleware(WhiteNoiseMiddleware):
    sync_capable = True
    async_capable = True

    def __init__(self, get_response=None):
        super().__init__(get_response)
        self._async = iscoroutinefunction(get_response)
        if self._async:
            markcoroutinefunction(self)

    def _static_response(self, request: HttpRequest) -> HttpResponseBase | None:
        static_file = (
            self.find_file(request.path_info) if self.autorefresh else self.files.get(request.path_info)
        )
        return self.serve(static_file, request) if static_file is not None else None

    def __call__(self, request: HttpRequest):
        if self._async:
            return self.__acall__(request)
        return self._static_response(request) or self.get_response(request)

    async def __acall__(self, request: HttpRequest) -> HttpResponseBase:
        return self._static_response(request) or await self.get_response(request)
