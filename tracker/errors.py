"""One exception hierarchy for the tracker. The API's exception handler turns each into the common
error shape {"type", "detail", "fields"}; pages show the same messages beside their fields."""


class ApplicationError(Exception):
    status_code = 400
    type = "application_error"

    def __init__(self, detail: str, *, fields: dict[str, list[str]] | None = None):
        super().__init__(detail)
        self.detail = detail
        self.fields = fields or {}


class InputError(ApplicationError):
    type = "validation_error"


class ConflictError(ApplicationError):
    status_code = 409
    type = "conflict"


class NotAllowedError(ApplicationError):
    status_code = 403
    type = "permission_denied"
