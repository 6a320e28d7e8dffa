"""`/v1/me` and `/v1/api-keys`: who the caller is, and the caller's own API keys."""

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.generics import ListAPIView
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from wordcab_admin.kernel.accounts import ApiKey, api_key_issue, api_key_revoke
from wordcab_admin.kernel.roles import GRANTS, Capability, role_of
from wordcab_admin.kernel.validation import validated


class ApiKeyOutput(serializers.ModelSerializer):
    active = serializers.BooleanField(source="is_active", read_only=True)

    class Meta:
        model = ApiKey
        fields = ["id", "name", "prefix", "created_at", "last_used_at", "revoked_at", "active"]


class ApiKeyCreatedOutput(ApiKeyOutput):
    key = serializers.CharField(help_text="The raw key. Shown once, in this answer only: store it now.")

    class Meta(ApiKeyOutput.Meta):
        fields = [*ApiKeyOutput.Meta.fields, "key"]


class MeApi(APIView):
    permission_classes = [IsAuthenticated]  # even a user with no role may ask who they are

    @extend_schema(
        operation_id="me_retrieve",
        summary="Who am I: the user behind the API key or session, with the role and what it allows",
        responses={
            200: inline_serializer(
                "Me",
                {
                    "username": serializers.CharField(),
                    "role": serializers.ChoiceField(choices=["admin", "operator", "compliance", "viewer"]),
                    "capabilities": serializers.ListField(child=serializers.CharField()),
                },
            ),
        },
    )
    def get(self, request: Request) -> Response:
        role = role_of(request.user)
        capabilities = sorted(c.value for c in GRANTS[role]) if role else []
        return Response({"username": request.user.get_username(), "role": role, "capabilities": capabilities})


class ApiKeyListApi(ListAPIView):
    """Every signed-in user manages their own keys; a key carries its user's role, no more."""

    write_capability = Capability.VIEW
    serializer_class = ApiKeyOutput

    class Input(serializers.Serializer):
        name = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation: no user
            return ApiKey.objects.none()
        return ApiKey.objects.filter(user=self.request.user)

    @extend_schema(operation_id="api_keys_list", summary="List your API keys, newest first")
    def get(self, request: Request, *args, **kwargs) -> Response:
        return super().get(request, *args, **kwargs)

    @extend_schema(
        operation_id="api_keys_create",
        summary="Create an API key; the answer carries the raw key, once",
        request=Input,
        responses={201: ApiKeyCreatedOutput},
    )
    def post(self, request: Request) -> Response:
        data = validated(self.Input, request.data)
        key, raw = api_key_issue(user=request.user, name=data["name"], actor=request.user)
        key.key = raw
        return Response(ApiKeyCreatedOutput(key).data, status=201)


class ApiKeyDetailApi(APIView):
    write_capability = Capability.VIEW

    @extend_schema(
        operation_id="api_keys_revoke",
        summary="Revoke one of your API keys (it stops working at once; revoking twice is harmless)",
        responses={204: None},
    )
    def delete(self, request: Request, key_id: int) -> Response:
        key = get_object_or_404(ApiKey, pk=key_id, user=request.user)  # another user's key: absent
        api_key_revoke(key=key, actor=request.user)
        return Response(status=204)
