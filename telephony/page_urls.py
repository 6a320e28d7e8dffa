"""telephony's pages: the providers' settings and each provider's own pages (its page_urls.py)."""

from telephony.registry import provider_page_urlpatterns

urlpatterns: list = [*provider_page_urlpatterns()]
