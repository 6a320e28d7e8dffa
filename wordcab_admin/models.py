"""The wordcab_admin app's models: the API key, defined with its services in the kernel."""

from wordcab_admin.kernel.accounts import ApiKey

__all__ = ["ApiKey"]
