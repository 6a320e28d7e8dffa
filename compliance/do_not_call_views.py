"""The do-not-call page: the list (search, pages, CSV export), add a number, remove one, import a CSV and
download the rows it rejected. For compliance officers and admins, as the API (it holds people's numbers)."""

from collections.abc import Iterator

from django import forms
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.views.decorators.http import require_GET, require_POST

from compliance import do_not_call as services
from compliance import do_not_call_import as importer
from compliance.models import DoNotCall, DoNotCallSource
from wordcab_admin.kernel.errors import DomainError
from wordcab_admin.kernel.fastpath.asgi_streaming import csv_response
from wordcab_admin.kernel.roles import Capability, require

PAGE_ROWS = 100
REPORT_ROWS_SHOWN = 200  # on the page; the download has them all
EXPORT_HEADER = ["number", "reason", "source", "added_by", "call_id", "added_at"]


class DoNotCallAddForm(forms.Form):
    number = forms.CharField(
        max_length=64,
        help_text="As you would dial it: (415) 555-0123, 415.555.0123 or +44 20 7946 0958.",
        widget=forms.TextInput(attrs={"inputmode": "tel", "autocomplete": "off"}),
    )
    reason = forms.CharField(
        max_length=services.MAX_REASON_LENGTH,
        required=False,
        help_text="Why, in a few words: asked by email, complaint, legal request…",
    )


class DoNotCallImportForm(forms.Form):
    file = forms.FileField(
        allow_empty_file=True,  # refused by the importer, with its own words
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,text/csv,text/plain"}),
    )
    phone_column = forms.CharField(
        max_length=100,
        required=False,
        help_text="Leave empty to use the column named phone, number, phone_number or mobile.",
    )


def _is_htmx(request: HttpRequest) -> bool:
    return request.headers.get("HX-Request") == "true"


def _list_url(**query: str) -> str:
    query = {name: value for name, value in query.items() if value}
    return reverse("do_not_call:list") + (f"?{urlencode(query)}" if query else "")


def _page(
    request: HttpRequest,
    *,
    add_form: DoNotCallAddForm | None = None,
    import_form: DoNotCallImportForm | None = None,
    report: importer.ImportReport | None = None,
    status: int = 200,
) -> HttpResponse:
    query = request.GET.get("q", "")
    page = Paginator(services.do_not_call_entries(query=query), PAGE_ROWS).get_page(request.GET.get("page"))
    report_token = request.GET.get("report", "")
    if report is None and report_token:
        report = importer.import_report_find(report_token)
    context = {
        "page": page,
        "entries": page.object_list,
        "query": query,
        "add_form": add_form or DoNotCallAddForm(),
        "import_form": import_form or DoNotCallImportForm(),
        "report": report,
        "report_errors": report.errors[:REPORT_ROWS_SHOWN] if report else [],
        "report_token": report_token if report is not None and report_token else "",
        "report_expired": bool(report_token) and report is None,
    }
    if _is_htmx(request) and request.method == "GET":
        return render(request, "compliance/_do_not_call_table.html", context)
    return render(request, "compliance/do_not_call.html", context, status=status)


@require_GET
@require(Capability.COMPLIANCE)
def do_not_call_list(request: HttpRequest) -> HttpResponse:
    return _page(request)


@require_POST
@require(Capability.COMPLIANCE)
def do_not_call_add(request: HttpRequest) -> HttpResponse:
    form = DoNotCallAddForm(request.POST)
    if form.is_valid():
        try:
            entry, created = services.do_not_call_add(
                actor=request.user,
                number=form.cleaned_data["number"],
                reason=form.cleaned_data["reason"],
                source=DoNotCallSource.PAGE,
            )
        except DomainError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, exc.message)
        else:
            if created:
                messages.success(request, f"{entry.number} added: it will not be called.")
            else:
                messages.info(
                    request, f"{entry.number} was already on the list (since {entry.created_at:%Y-%m-%d})."
                )
            return redirect(_list_url(q=entry.number))
    return _page(request, add_form=form, status=400)


@require_POST
@require(Capability.COMPLIANCE)
def do_not_call_remove(request: HttpRequest, number: str) -> HttpResponse:
    try:
        entry = services.do_not_call_remove(actor=request.user, number=number)
    except DomainError as exc:  # no longer listed (removed meanwhile), or not a number at all
        messages.error(request, exc.message)
    else:
        messages.success(request, f"{entry.number} removed from the list: it may be called again.")
    return redirect(_list_url(q=request.POST.get("q", "")))


@require_POST
@require(Capability.COMPLIANCE)
def do_not_call_import(request: HttpRequest) -> HttpResponse:
    form = DoNotCallImportForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            report = importer.do_not_call_import(
                actor=request.user,
                upload=form.cleaned_data["file"],
                phone_column=form.cleaned_data["phone_column"],
            )
        except DomainError as exc:
            form.add_error("phone_column" if exc.field == "phone_column" else "file", exc.message)
        else:
            messages.success(
                request, f"Imported {report.accepted} of {report.rows} rows; {report.rejected} rejected."
            )
            token = importer.import_report_keep(report)
            if token is None:  # the cache is unreachable: show the report now, without its download
                return _page(request, report=report)
            return redirect(_list_url(report=token))
    return _page(request, import_form=form, status=400)


@require_GET
@require(Capability.COMPLIANCE)
def do_not_call_rejected_rows(request: HttpRequest, token: str) -> HttpResponse:
    """The rows an import rejected, as a CSV to fix and upload again."""
    report = importer.import_report_find(token)
    if report is None:
        raise Http404("This import report has expired; import the file again to see its rejected rows.")
    return csv_response(
        request,
        header=importer.REJECTED_CSV_HEADER,
        rows=report.rejected_rows(),
        filename="do-not-call-rejected-rows.csv",
    )


@require_GET
@require(Capability.COMPLIANCE)
def do_not_call_export(request: HttpRequest) -> HttpResponse:
    """The list (or the numbers matching the search) as CSV, newest first, streamed."""
    entries = services.do_not_call_entries(query=request.GET.get("q", ""))

    def rows() -> Iterator[list]:
        entry: DoNotCall
        for entry in entries.iterator(chunk_size=2000):
            yield [
                entry.number,
                entry.reason,
                entry.source,
                entry.added_by.get_username() if entry.added_by_id else "",
                entry.call_public_id,
                entry.created_at.isoformat(),
            ]

    return csv_response(request, header=EXPORT_HEADER, rows=rows(), filename="do-not-call.csv")
