"""How the wallboard writes its metrics (live/metrics.py): `{{ rate|percent }}` ("62 %", or "—" when there is
nothing to divide by) and `{{ seconds|handle_time }}` ("2:05")."""

from django import template

register = template.Library()

NONE = "—"


@register.filter
def percent(share: float | None) -> str:
    if share is None:
        return NONE
    value = share * 100
    return f"{value:.1f} %" if 0 < value < 10 else f"{value:.0f} %"


@register.filter
def handle_time(seconds: float | None) -> str:
    if seconds is None:
        return NONE
    whole = round(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"
