"""`{{ value|as_json }}`: JSON fields shown as JSON (as entered and as the API returns them), not as Python's
repr (`None`, `True`, single quotes). `{{ value|as_json:2 }}` indents."""

import json
from typing import Any

from django import template
from django.core.serializers.json import DjangoJSONEncoder

register = template.Library()


@register.filter
def as_json(value: Any, indent: int | None = None) -> str:
    return json.dumps(value, indent=indent, ensure_ascii=False, cls=DjangoJSONEncoder)
