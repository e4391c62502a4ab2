"""A container health check for the web process: GET a path of this container's gunicorn and exit 0 on 200.

    python scripts/healthcheck_http.py [/health/ready/]

It sends the first of DJANGO_ALLOWED_HOSTS as Host and `X-Forwarded-Proto: https` (what the TLS proxy
sends), so host validation and the SSL redirect answer as they do behind the proxy. It imports no Django,
so it costs a few milliseconds every interval."""

import os
import sys
import urllib.error
import urllib.request


def main(argv: list[str]) -> int:
    path = argv[1] if len(argv) > 1 else "/health/ready/"
    hosts = [h.strip().lstrip(".") for h in os.environ.get("DJANGO_ALLOWED_HOSTS", "").split(",")]
    host = next((h for h in hosts if h and h != "*"), "localhost")
    url = f"http://127.0.0.1:{os.environ.get('PORT', '8000')}{path}"
    request = urllib.request.Request(url, headers={"Host": host, "X-Forwarded-Proto": "https"})
    try:
        with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310 (a fixed local URL)
            return 0 if response.status == 200 else 1
    except (urllib.error.URLError, OSError) as exc:
        print(f"{path}: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
