from asgiref.sync import SyncToAsync, async_to_sync, iscoroutinefunction
from django.core.handlers.asgi import ASGIHandler
from django.test import AsyncClient


def test_every_middleware_runs_async_so_requests_skip_extra_thread_hops():
    chain = ASGIHandler()._middleware_chain
    assert iscoroutinefunction(chain)
    assert not isinstance(chain, SyncToAsync), "a sync-only middleware splits the chain into thread hops"


def test_static_files_are_served_through_the_async_chain():
    response = async_to_sync(AsyncClient().get)("/static/css/app.css")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/css")


def test_an_unknown_api_path_answers_the_json_error_shape_through_the_async_chain():
    response = async_to_sync(AsyncClient().get)("/v1/no-such-thing")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
