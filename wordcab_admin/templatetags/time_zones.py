"""`{% time_zone_names as zones %}`: the zones Settings offers (kernel/viewer_time_zone.py)."""

from django import template

from wordcab_admin.kernel.viewer_time_zone import time_zone_names as known_time_zone_names

register = template.Library()


@register.simple_tag
def time_zone_names() -> tuple[str, ...]:
    return known_time_zone_names()
