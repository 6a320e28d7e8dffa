"""The wordcab_admin app's models: the API key and the account state, defined with their services in the
kernel."""

from wordcab_admin.kernel.accounts import AccountState, ApiKey

__all__ = ["AccountState", "ApiKey"]
