"""Websocket routes; each app contributes its own list."""

from calls.routing import websocket_urlpatterns as calls_websockets

websocket_urlpatterns = [*calls_websockets]
