"""The error a channel raises when it cannot deliver (the outside-call adapter raises it too)."""


class DeliveryError(Exception):
    """A channel could not deliver. `permanent` errors are not retried (bad address, rejected);
    transient ones (timeouts, 5xx, SMTP connection trouble) are retried with backoff."""

    def __init__(self, message: str, *, permanent: bool):
        super().__init__(message)
        self.permanent = permanent
