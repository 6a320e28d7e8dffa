from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions

from wordcab_admin.kernel.accounts import api_key_authenticate


class BearerKeyAuthentication(authentication.BaseAuthentication):
    """`Authorization: Bearer <api key>`; the key's user, and so the user's role, is the request's."""

    keyword = "Bearer"

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).decode("latin-1").strip()
        if not header:
            return None
        scheme, _, raw = header.partition(" ")
        if scheme.lower() != self.keyword.lower():
            return None
        raw = raw.strip()
        if not raw:
            raise exceptions.AuthenticationFailed("Empty bearer token.")
        key = api_key_authenticate(raw)
        if key is None:
            raise exceptions.AuthenticationFailed("Invalid or revoked API key.")
        return key.user, key

    def authenticate_header(self, request) -> str:
        return self.keyword


class BearerKeyScheme(OpenApiAuthenticationExtension):
    """Tells drf-spectacular how the Bearer API key is sent, so the schema documents it."""

    target_class = BearerKeyAuthentication
    name = "apiKey"

    def get_security_definition(self, auto_schema) -> dict:
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "An API key: `python manage.py create_api_key <username>` or Settings → API keys.",
        }
