"""`{{ value|as_json }}`: JSON fields shown as JSON (as entered and as the API returns them), not as Python's
repr (`None`, `True`, single quotes). `{{ value|as_json:2 }}` indents. `{{ stored|iso_datetime|date:"…" }}`
reads a time a JSON field keeps as ISO 8601 text, so that it is shown as the page's other times are."""

import json
from typing import Any

from django import template
from django.core.serializers.json import DjangoJSONEncoder
from django.utils.dateparse import parse_datetime

register = template.Library()


@register.filter
def as_json(value: Any, indent: int | None = None) -> str:
    return json.dumps(value, indent=indent, ensure_ascii=False, cls=DjangoJSONEncoder)


@register.filter
def iso_datetime(value: Any) -> Any:
    """An ISO 8601 text as a datetime (for the `date` filter); anything else as it is."""
    if isinstance(value, str):
        try:
            return parse_datetime(value) or value
        except ValueError:
            return value
    return value
