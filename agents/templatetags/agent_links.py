"""`{{ n.number|readable_number }}`: a number as people read it ('+44 20 7946 0958'); `{{ call.to_number|phone }}`:
the same in a span that copies as E.164 (static/js/app.js) and shows it on hover."""

from django import template
from django.utils.html import format_html
from django.utils.safestring import SafeString

from agents.links import number_readable
from agents.phone import format_for_reading

register = template.Library()


@register.filter
def readable_number(e164: str | None) -> str:
    return number_readable(e164 or "")


@register.filter
def phone(e164: str | None) -> SafeString | str:
    if not e164:
        return "—"
    return format_html(
        '<span class="phone" data-e164="{}" title="{}">{}</span>', e164, e164, format_for_reading(e164)
    )
