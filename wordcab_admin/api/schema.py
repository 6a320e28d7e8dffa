"""OpenAPI: `GET /v1/schema` (JSON by default, `?format=yaml` too), with the one error shape documented."""

from drf_spectacular.renderers import OpenApiJsonRenderer, OpenApiYamlRenderer
from drf_spectacular.views import SpectacularAPIView

ERROR_SCHEMA = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message", "field"],
            "properties": {
                "code": {"type": "string", "example": "not_found"},
                "message": {"type": "string"},
                "field": {"type": "string", "nullable": True, "description": "The input field at fault"},
            },
        }
    },
}
ERROR_STATUSES = {
    "400": "Invalid input",
    "401": "Missing, invalid or revoked API key",
    "403": "The caller's role does not allow this",
    "404": "No such object (or not visible to the caller)",
    "429": "Too many unknown API keys from the caller's address: every key is refused until Retry-After",
}


def add_error_responses(result: dict, generator, request, public) -> dict:
    """Postprocessing hook: every operation may answer the error shape, whatever else it declares."""
    result.setdefault("components", {}).setdefault("schemas", {})["Error"] = ERROR_SCHEMA
    reference = {"$ref": "#/components/schemas/Error"}
    for operations in result.get("paths", {}).values():
        for operation in operations.values():
            responses = operation.setdefault("responses", {})
            for status, description in ERROR_STATUSES.items():
                responses.setdefault(
                    status,
                    {"description": description, "content": {"application/json": {"schema": reference}}},
                )
    return result


class SchemaView(SpectacularAPIView):
    renderer_classes = [OpenApiJsonRenderer, OpenApiYamlRenderer]
