"""Every API error answers `{"error": {"code", "message", "field"}}`: 400, 401, 403, 404, 405 and 500."""

import logging

import django_filters
import pytest
from django import forms
from django.test import Client
from django.urls import include, path
from rest_framework import serializers
from rest_framework.generics import ListAPIView
from rest_framework.views import APIView

from wordcab_admin.kernel.accounts import ApiKey
from wordcab_admin.kernel.errors import InvalidState


def assert_error_shape(response, status: int, code: str | None = None) -> dict:
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"error"}
    assert {"code", "message", "field"} <= set(body["error"])
    assert isinstance(body["error"]["message"], str)
    assert body["error"]["message"]
    if code is not None:
        assert body["error"]["code"] == code
    return body["error"]


def test_a_malformed_json_body_is_a_400_parse_error(api, alice):
    response = api(alice).post("/v1/api-keys", data="{not json", content_type="application/json")
    assert_error_shape(response, 400, "parse_error")


def test_a_missing_key_is_a_401(client, db):
    assert_error_shape(client.get("/v1/api-keys"), 401, "not_authenticated")


def test_an_unknown_api_path_is_a_json_404_whoever_asks(api, alice, client, settings):
    for debug in (True, False):
        settings.DEBUG = debug
        error = assert_error_shape(client.get("/v1/no-such-thing"), 404, "not_found")
        assert "/v1/no-such-thing" in error["message"]
        assert_error_shape(api(alice).post("/v1/api-keys/12/extra", {}), 404, "not_found")


def test_an_unknown_object_is_a_404(api, alice):
    assert_error_shape(api(alice).delete("/v1/api-keys/999999"), 404, "not_found")


def test_a_wrong_method_is_a_405(api, alice):
    error = assert_error_shape(api(alice).put("/v1/me", {}, format="json"), 405, "method_not_allowed")
    assert "PUT" in error["message"]
    assert_error_shape(api(alice).patch("/v1/api-keys", {}, format="json"), 405, "method_not_allowed")


def test_a_domain_error_keeps_its_status_code_and_field(rf):
    from wordcab_admin.kernel.api_errors import api_exception_handler

    response = api_exception_handler(InvalidState("The campaign is cancelled.", field="status"), {})
    assert response.status_code == 409
    assert response.data == {
        "error": {"code": "invalid_state", "message": "The campaign is cancelled.", "field": "status"}
    }


class Boom(APIView):
    def get(self, request):
        raise RuntimeError("secret internals: password=hunter2")


def plain_boom(request):
    raise KeyError("secret internals")


class QuotingField(forms.CharField):
    """A filter field whose message quotes the refused value as it is, without params (as calls' status does)."""

    def clean(self, value):
        value = super().clean(value)
        if value and value != "ok":
            raise forms.ValidationError(f"Unknown name {value!r}.", code="invalid_choice")
        return value


class QuotingFilter(django_filters.Filter):
    field_class = QuotingField


class KeyFilter(django_filters.FilterSet):
    name = QuotingFilter()
    state = django_filters.ChoiceFilter(choices=[("on", "on"), ("off", "off")], method="ignore")
    states = django_filters.MultipleChoiceFilter(choices=[("on", "on"), ("off", "off")], method="ignore")

    class Meta:
        model = ApiKey
        fields: list[str] = []

    def ignore(self, queryset, name, value):
        return queryset


class FilteredKeys(ListAPIView):
    """A list endpoint filtered through the project's filter backend (the default one)."""

    filterset_class = KeyFilter
    serializer_class = serializers.Serializer

    def get_queryset(self):
        return ApiKey.objects.none()


urlpatterns = [
    path("v1/boom", Boom.as_view()),
    path("v1/filtered", FilteredKeys.as_view()),
    path("v1/plain-boom", plain_boom),
    path("", include("wordcab_admin.urls")),
]


@pytest.mark.urls("tests.core.test_api_errors")
@pytest.mark.parametrize("url", ["/v1/boom", "/v1/plain-boom"])
@pytest.mark.parametrize("debug", [False, True])
def test_an_unhandled_exception_is_logged_and_answered_500_without_a_stack_trace(
    api, alice, caplog, settings, url, debug
):
    settings.DEBUG = debug
    with caplog.at_level(logging.ERROR, logger="wordcab_admin.kernel.api_errors"):
        response = api(alice).get(url)
    error = assert_error_shape(response, 500, "server_error")
    assert "secret" not in response.content.decode()
    assert "Traceback" not in response.content.decode()
    assert error["message"] == "Something went wrong on our side; it has been logged."
    logged = [r for r in caplog.records if r.name == "wordcab_admin.kernel.api_errors"]
    assert len(logged) == 1
    assert logged[0].exc_info is not None  # the traceback goes to the log, not to the client
    assert url in logged[0].getMessage()


def test_a_post_to_an_unknown_api_path_is_a_json_404_not_a_csrf_page():
    response = Client(enforce_csrf_checks=True).post("/v1/agents//calls", {"phone_number": "+14155550123"})
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_a_form_body_with_too_many_fields_is_a_400_not_a_500(api, alice):
    body = "&".join(f"f{i}=x" for i in range(1100))  # over DATA_UPLOAD_MAX_NUMBER_FIELDS (1000)
    response = api(alice).post(
        "/v1/numbers/bulk", data=body, content_type="application/x-www-form-urlencoded"
    )
    assert_error_shape(response, 400, "bad_request")


def test_a_body_over_the_upload_limit_is_a_413_not_a_500(api, alice, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    response = api(alice).post("/v1/agents", data={"name": "x" * 2000}, format="json")
    assert_error_shape(response, 413, "request_too_large")


@pytest.mark.parametrize(
    "path",
    [
        "/v1/agents?search=a%00b",
        "/v1/numbers?provider=a%00",
        "/v1/calls/call_%00x",
        "/v1/agents/agent_%00",
        "/v1/calls/call_x%00/recording",
    ],
)
def test_a_null_character_in_an_api_url_is_a_json_400_on_every_database(api, alice, path):
    """PostgreSQL refuses NUL in any string literal; without the check each of these was a 500 there."""
    assert_error_shape(api(alice).get(path), 400, "null_characters_not_allowed")


def test_a_null_character_in_a_page_url_is_a_400(client, alice):
    client.force_login(alice)
    response = client.get("/agents/?search=a%00b")
    assert response.status_code == 400
    assert b"Null characters are not allowed" in response.content


PERCENT_VALUES = ["%", "%s", "%(x)s", "%%", "100%d"]


@pytest.mark.urls("tests.core.test_api_errors")
@pytest.mark.parametrize("value", PERCENT_VALUES)
@pytest.mark.parametrize("field", ["name", "state", "states"])
def test_a_percent_sign_in_a_filter_value_is_a_400_naming_the_field_not_a_500(api, alice, field, value):
    response = api(alice).get("/v1/filtered", {field: value})
    error = assert_error_shape(response, 400, "invalid_choice")
    assert error["field"] == field
    assert value in error["message"]  # quoted as given: neither formatted nor unescaped (`%%` stays `%%`)


@pytest.mark.urls("tests.core.test_api_errors")
def test_a_filter_message_with_params_is_formatted_once(api, alice):
    error = assert_error_shape(api(alice).get("/v1/filtered", {"state": "%(value)s"}), 400)
    assert error["message"] == "Select a valid choice. %(value)s is not one of the available choices."
    assert api(alice).get("/v1/filtered", {"name": "ok", "state": "on", "states": "off"}).status_code == 200
