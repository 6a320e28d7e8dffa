"""The providers' webhooks, each from its own sub-package's urls.py (telephony/registry.py)."""

from telephony.registry import provider_urlpatterns

urlpatterns = provider_urlpatterns()
