"""The one place the tracker calls the outside world over HTTP (SMS provider, paging webhook).
Tests patch `http_post` here and nowhere else; SMTP goes through Django's email backend."""

import urllib.error
import urllib.request

from notifications.errors import DeliveryError

TIMEOUT_SECONDS = 10


def http_post(url: str, body: bytes, headers: dict[str, str]) -> int:
    """POST and return the status code. 5xx, timeouts and connection errors are transient; 4xx permanent."""
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")  # noqa: S310 (configured URLs)
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:  # noqa: S310
            return response.status
    except urllib.error.HTTPError as exc:
        raise DeliveryError(f"HTTP {exc.code} from {url}", permanent=400 <= exc.code < 500 and exc.code != 429) from exc
    except (TimeoutError, urllib.error.URLError, ConnectionError) as exc:
        raise DeliveryError(f"Could not reach {url}: {exc}", permanent=False) from exc
