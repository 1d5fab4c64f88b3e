"""Standard Webhooks signatures (HMAC-SHA256, ``v1``), sans-IO.

Signed content is ``{webhook-id}.{webhook-timestamp}.{body}``; the key is the
base64 part of a ``whsec_`` secret (a secret without that prefix is used as
UTF-8 bytes, as the official SDK does).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac


class WebhookSecretError(ValueError):
    """The webhook secret is malformed (``whsec_`` followed by invalid base64)."""


def secret_key(secret: str) -> bytes:
    """Return the HMAC key of a Standard Webhooks secret."""
    if secret.startswith("whsec_"):
        try:
            return base64.b64decode(secret[len("whsec_") :], validate=True)
        except (binascii.Error, ValueError) as exc:
            raise WebhookSecretError("webhook secret is not 'whsec_' + base64") from exc
    return secret.encode()


def compute_signature(key: bytes, webhook_id: str, timestamp: str, body: bytes) -> str:
    """Return the base64 HMAC-SHA256 of ``{id}.{timestamp}.{body}`` (no ``v1,`` tag)."""
    signed = b"%s.%s.%s" % (webhook_id.encode(), timestamp.encode(), body)
    return base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()


def sign_webhook(
    body: bytes, secret: str, *, webhook_id: str, timestamp: int
) -> dict[str, str]:
    """Return the three Standard Webhooks headers that sign ``body``."""
    signature = compute_signature(secret_key(secret), webhook_id, str(timestamp), body)
    return {
        "webhook-id": webhook_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": f"v1,{signature}",
    }
