"""The OpenAPI schema states the error answers every operation can give, in the one error shape."""

from drf_spectacular.authentication import SessionScheme
from drf_spectacular.openapi import AutoSchema
from rest_framework import serializers


class TwoFactorSessionScheme(SessionScheme):
    """The session cookie, as DRF's: staff sessions must also have given their second factor."""

    target_class = "tracker.security.TwoFactorSessionAuthentication"


class ErrorSerializer(serializers.Serializer):
    type = serializers.CharField(help_text="validation_error, not_authenticated, permission_denied, not_found, "
                                           "conflict, throttled, ...")
    detail = serializers.CharField()

    def get_fields(self) -> dict[str, serializers.Field]:
        # Declared here: a class attribute called `fields` would hide Serializer.fields.
        fields = super().get_fields()
        fields["fields"] = serializers.DictField(child=serializers.ListField(child=serializers.CharField()),
                                                 help_text="Offending fields and their messages (empty when none).")
        return fields


ERRORS = {
    "400": "Invalid input or filters; `fields` names each offending field.",
    "401": "Not signed in, or the token expired or was revoked.",
    "403": "Signed in, but not allowed.",
    "404": "Not found, or not visible to you.",
    "409": "Conflicts with the current state (for example, already acknowledged).",
    "429": "Too many requests: rate limit or sign-in lockout.",
}


class TrackerAutoSchema(AutoSchema):
    def _map_basic_serializer(self, serializer, direction):
        """Inputs that refuse unknown fields (StrictSerializer) say so: additionalProperties is false."""
        from tracker.api.serializers import StrictSerializer

        schema = super()._map_basic_serializer(serializer, direction)
        if direction == "request" and isinstance(serializer, StrictSerializer):
            schema["additionalProperties"] = False
        return schema

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        if direction != "response":
            return responses
        for code, description in ERRORS.items():
            if code not in responses:
                body = self._get_response_for_code(ErrorSerializer, code)
                body["description"] = description
                responses[code] = body
        return responses
