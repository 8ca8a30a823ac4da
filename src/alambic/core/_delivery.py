"""Webhook deliveries, at least once: signed JSON POSTs and the schedule of their retries.

The registry's events and the control plane's alerts are delivered by these functions:
a body signed with HMAC-SHA256 (``sha256=<hex>``, in a header the caller names), a POST
with a short timeout, and an exponential backoff between attempts, given up after
``MAX_ATTEMPTS``.

Example:
    >>> sign(b"{}", "secret")[:7]
    'sha256='
    >>> [retry_delay(n) for n in (1, 2, 3)]
    [2.0, 4.0, 8.0]
"""

from __future__ import annotations

import hashlib
import hmac
import urllib.error
import urllib.request
from collections.abc import Mapping
from datetime import datetime, timedelta

from alambic.core._time import utcnow

__all__ = ["DELIVERY_ERRORS", "MAX_ATTEMPTS", "next_attempt", "post_json", "retry_delay", "sign"]

MAX_ATTEMPTS = 6
BASE_DELAY = 2.0  # seconds before the first retry; doubles each time
TIMEOUT = 5.0
# What a failed POST raises: the attempt is recorded and tried again later.
DELIVERY_ERRORS = (urllib.error.URLError, OSError, ValueError)


def sign(body: bytes, secret: str) -> str:
    """The signature a receiver recomputes to trust a delivery: ``sha256=<hex>``."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def post_json(
    url: str,
    body: bytes,
    headers: Mapping[str, str],
    *,
    secret: str | None = None,
    signature_header: str = "X-Alambic-Signature",
) -> str:
    """POST a JSON body (signed when there is a secret); ``"HTTP 200"`` or an exception.

    Raises:
        urllib.error.URLError, OSError, ValueError: the delivery failed (see
            ``DELIVERY_ERRORS``); an HTTP error status raises too.
    """
    sent = {"Content-Type": "application/json", **headers}
    if secret:
        sent[signature_header] = sign(body, secret)
    request = urllib.request.Request(url, data=body, headers=sent, method="POST")  # noqa: S310 - URLs come from stored, checked settings
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT) as response:  # noqa: S310
            return f"HTTP {response.status}"
    except urllib.error.HTTPError as exc:
        exc.close()  # its body holds the connection
        raise


def retry_delay(attempts: int) -> float:
    """Seconds to wait after ``attempts`` failed attempts."""
    return float(BASE_DELAY * 2 ** (attempts - 1))


def next_attempt(attempts: int, *, now: datetime | None = None) -> datetime | None:
    """When to try again after ``attempts`` failed attempts; None: give up."""
    if attempts >= MAX_ATTEMPTS:
        return None
    return (now or utcnow()) + timedelta(seconds=retry_delay(attempts))
