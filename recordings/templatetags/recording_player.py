"""`{{ seconds|clock }}`: a recording's length as the player shows it ("0:42", "1:02:05"), the same clock that
static/js/player.js keeps while it plays."""

from django import template

register = template.Library()


@register.filter
def clock(seconds: float | None) -> str:
    whole = max(0, int(seconds or 0))
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"
