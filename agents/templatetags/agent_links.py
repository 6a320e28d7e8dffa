"""`{{ n.number|readable_number }}`: a number as people read it ('+44 20 7946 0958')."""

from django import template

from agents.links import number_readable

register = template.Library()


@register.filter
def readable_number(e164: str | None) -> str:
    return number_readable(e164 or "")
