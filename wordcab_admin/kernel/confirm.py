"""Asking first: a change that takes something away from someone (a number from its agent, a key from the
programs using it, a colleague's access) is carried out only when its form says `confirmed=yes`.

Without JavaScript the first post answers a page that says what will happen and who loses what, with a
button that posts the same fields again, confirmed. With JavaScript (static/js/app.js) the browser asks in a
dialog first and adds `confirmed=yes` itself, so the change is made in one request."""

from collections.abc import Mapping

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

CONFIRMED_FIELD = "confirmed"
CONFIRMED = "yes"


def confirmed(request: HttpRequest) -> bool:
    return request.POST.get(CONFIRMED_FIELD) == CONFIRMED


def confirm_page(
    request: HttpRequest,
    *,
    title: str,
    question: str,
    consequence: str,
    action: str,
    fields: Mapping[str, str],
    confirm_label: str,
    cancel_url: str,
) -> HttpResponse:
    """The page that asks: `question` (what will happen) and `consequence` (who loses what), a button that
    posts `fields` to `action` again with `confirmed=yes`, and a way back to `cancel_url`."""
    context = {
        "title": title,
        "question": question,
        "consequence": consequence,
        "action": action,
        "fields": {**fields, CONFIRMED_FIELD: CONFIRMED},
        "confirm_label": confirm_label,
        "cancel_url": cancel_url,
    }
    return render(request, "confirm.html", context)
