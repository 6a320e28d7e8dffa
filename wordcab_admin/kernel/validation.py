"""Input validation shared by every API: the serializer helper and the JSON body parser."""

import math
import re
from typing import Any

from rest_framework import parsers, serializers
from rest_framework.exceptions import ParseError
from rest_framework.utils import json

# Deeper JSON is refused as it is parsed: no body of ours nests past a few levels, and a deep one would
# overflow the stack later (a serializer, json.dumps on save) as a RecursionError, a 500.
MAX_JSON_DEPTH = 64
_SURROGATE = re.compile("[\ud800-\udfff]")


def validated(serializer_class: type[serializers.Serializer], data: Any, **kwargs: Any) -> dict:
    """Validate input with a serializer; a ValidationError becomes a 400 in the error shape."""
    serializer = serializer_class(data=data, **kwargs)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


def surrogate_in(text: str) -> str | None:
    """The first lone UTF-16 surrogate in `text` (JSON's `"\\ud800"` decodes to one), or None. No UTF-8
    encoder, database or JSON renderer takes it: left in, it is a 500 wherever it goes next."""
    found = _SURROGATE.search(text)
    return found.group() if found else None


def surrogate_message(surrogate: str) -> str:
    return f"Surrogate characters are not allowed: U+{ord(surrogate):X}."  # DRF's CharField says the same


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):  # 1e999: stored, it is `Infinity`, which PostgreSQL's jsonb refuses
        raise ValueError(f"Out of range float values are not JSON compliant: {text}")
    return value


def nests_deeper_than(data: Any, limit: int = MAX_JSON_DEPTH) -> bool:
    """Whether parsed JSON nests past `limit` levels (a scalar is 1, `[1]` is 2), found without recursion."""
    stack = [(data, 1)]
    while stack:
        item, depth = stack.pop()
        children = item.values() if isinstance(item, dict) else item if isinstance(item, list) else ()
        if children and depth >= limit:
            return True
        stack.extend((child, depth + 1) for child in children)
    return False


def _too_deep() -> ParseError:
    return ParseError(f"JSON parse error - the body nests deeper than {MAX_JSON_DEPTH} levels.")


def _check_parsed(data: Any) -> None:
    """Refuse nesting past MAX_JSON_DEPTH, and a lone surrogate in any key or string, named by its dotted
    path (up to the last clean key: the answer never echoes a surrogate, which it could not encode)."""
    if nests_deeper_than(data):
        raise _too_deep()
    stack: list[tuple[Any, str]] = [(data, "")]
    while stack:
        item, path = stack.pop()
        if isinstance(item, str):
            if surrogate := surrogate_in(item):
                _refuse_surrogate(surrogate, path)
        elif isinstance(item, dict):
            for key, value in reversed(item.items()):
                if surrogate := surrogate_in(key):
                    _refuse_surrogate(surrogate, path)
                stack.append((value, f"{path}.{key}" if path else key))
        elif isinstance(item, list):
            stack.extend(
                (value, f"{path}.{i}" if path else str(i)) for i, value in reversed(list(enumerate(item)))
            )


def _refuse_surrogate(surrogate: str, path: str) -> None:
    error = serializers.ErrorDetail(surrogate_message(surrogate), code="surrogate_characters_not_allowed")
    raise serializers.ValidationError({path: [error]} if path else [error])


class JSONParser(parsers.JSONParser):
    """DRF's JSON parser (REST_FRAMEWORK's DEFAULT_PARSER_CLASSES), made to answer every body with a 4xx:
    nesting that overflows the parser's stack (RecursionError) or passes MAX_JSON_DEPTH is a 400
    `parse_error`, and so are numbers out of a float's range; a lone surrogate is a 400 naming its field.
    Invalid UTF-8 and malformed JSON were already ParseErrors."""

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            return self._parse(stream, media_type, parser_context)
        except RecursionError:  # deeper than the stack, let alone MAX_JSON_DEPTH
            raise _too_deep() from None

    def _parse(self, stream, media_type, parser_context):
        encoding = parsers.get_encoding(parser_context or {})
        try:
            text = stream.read().decode(encoding)
            parse_constant = json.strict_constant if self.strict else None
            data = json.loads(text, parse_constant=parse_constant, parse_float=_finite_float)
        except ValueError as exc:  # malformed JSON, invalid UTF-8, a number past int's 4300 digits
            raise ParseError(f"JSON parse error - {exc}") from None
        _check_parsed(data)
        return data
