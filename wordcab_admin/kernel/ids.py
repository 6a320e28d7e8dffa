"""Public ids: a readable prefix and a random tail (`agent_7f3k…`), the shape of the Wordcab SDK's ids."""

import secrets
import string

_ALPHABET = string.ascii_lowercase + string.digits


def new_public_id(prefix: str) -> str:
    return f"{prefix}_" + "".join(secrets.choice(_ALPHABET) for _ in range(16))
