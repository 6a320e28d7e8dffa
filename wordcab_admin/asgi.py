import gc
import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "wordcab_admin.settings")
django_asgi_app = get_asgi_application()  # before importing consumers: it sets Django up

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from django.urls import get_resolver  # noqa: E402

from wordcab_admin.routing import websocket_urlpatterns  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        # Origin is checked per consumer: Twilio's media stream has no browser Origin, the wallboard does.
        "websocket": AuthMiddlewareStack(URLRouter(websocket_urlpatterns)),
    }
)


def freeze_startup_heap() -> None:
    """Take what start-up built (settings, every view and serializer, URL patterns), which lives as long as
    the process, out of the garbage collector's sight. Otherwise each full collection walks all of it:
    40-80 ms measured in a web worker, stalling whichever status callbacks and websocket frames were in
    flight at that moment (most of the live latency's tail)."""
    get_resolver().url_patterns  # noqa: B018 (the access imports every view now, not on some request)
    gc.collect()
    gc.freeze()


freeze_startup_heap()
