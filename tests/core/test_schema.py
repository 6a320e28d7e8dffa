"""`GET /v1/schema` is a valid OpenAPI 3 document, and drf-spectacular generates it without a warning."""

from io import StringIO

import pytest
import yaml
from django.core.management import call_command
from openapi_spec_validator import validate


def test_the_schema_is_a_valid_openapi_3_document_served_to_anyone(client, db):
    response = client.get("/v1/schema")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.oai.openapi+json")
    document = response.json()
    assert document["openapi"].startswith("3.")
    validate(document)  # raises with the first violation
    assert "/v1/me" in document["paths"]
    assert "/v1/api-keys" in document["paths"]
    assert document["components"]["securitySchemes"]["apiKey"] == {
        "type": "http",
        "scheme": "bearer",
        "description": document["components"]["securitySchemes"]["apiKey"]["description"],
    }


def test_every_operation_documents_the_error_shape(client, db):
    document = client.get("/v1/schema").json()
    error = document["components"]["schemas"]["Error"]
    assert error["properties"]["error"]["required"] == ["code", "message", "field"]
    for route, operations in document["paths"].items():
        for method, operation in operations.items():
            assert "404" in operation["responses"], f"{method.upper()} {route}"


def test_the_schema_is_also_served_as_yaml(client, db):
    response = client.get("/v1/schema?format=yaml")
    assert response.status_code == 200
    assert yaml.safe_load(response.content)["openapi"].startswith("3.")


def test_drf_spectacular_finds_nothing_to_warn_about(tmp_path):
    """Each API view declares what it takes and answers (extend_schema or a serializer_class)."""
    from drf_spectacular.drainage import GENERATOR_STATS

    GENERATOR_STATS.reset()
    GENERATOR_STATS.enable_trace_lineno()
    stderr = StringIO()
    try:
        call_command(
            "spectacular",
            "--validate",
            "--fail-on-warn",
            file=str(tmp_path / "schema.yaml"),
            stderr=stderr,
            stdout=StringIO(),
        )
    except Exception as exc:  # noqa: BLE001 - SchemaGenerationError or a validation error: report both
        pytest.fail(f"{exc}\n{stderr.getvalue()}")


@pytest.mark.parametrize(
    ("path", "items"),
    [("/v1/agents", "AgentOutput"), ("/v1/numbers", "NumberOutput"), ("/v1/calls", "CallApiOutput"),
     ("/v1/consent-openers", "OpenerOutput")],
)  # fmt: skip
def test_every_list_is_documented_as_the_cursor_page_it_answers(client, db, path, items):
    document = client.get("/v1/schema").json()
    operation = document["paths"][path]["get"]
    page = operation["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].split("/")[-1]
    assert page == f"Paginated{items}List"
    shape = document["components"]["schemas"][page]["properties"]
    assert set(shape) == {"next", "previous", "results"}
    assert shape["results"]["items"]["$ref"].endswith(f"/{items}")
    assert {"cursor", "limit"} <= {p["name"] for p in operation["parameters"]}
