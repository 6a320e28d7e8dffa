"""The providers' media streams, each from its own sub-package's routing.py (telephony/registry.py)."""

from telephony.registry import provider_websocket_urlpatterns

websocket_urlpatterns: list = provider_websocket_urlpatterns()
