"""Websocket routes; each app contributes its own list."""

from live.routing import websocket_urlpatterns as live_websockets
from telephony.routing import websocket_urlpatterns as telephony_websockets

websocket_urlpatterns = [*live_websockets, *telephony_websockets]
