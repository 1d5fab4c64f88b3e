"""The forms of a webhook secret: ``whsec_`` base64 with or without its padding, or raw text.

Two oracles: the Standard Webhooks reference library (``standardwebhooks``)
for ``whsec_`` secrets, padded or not, and the openai SDK for padded and raw
ones (it refuses an unpadded secret, which is why the reference library is
the oracle there).
"""

from __future__ import annotations

import base64
import binascii
import time
from datetime import UTC, datetime

import openai
import pytest
import standardwebhooks
from hypothesis import given
from hypothesis import strategies as st

from realtime_trio._webhooks.signature import is_raw_secret, secret_key
from realtime_trio.webhooks import (
    InvalidSecretError,
    SignatureMismatchError,
    sign_webhook,
    verify_webhook_signature,
)

BODY = b'{"object":"event","type":"realtime.call.incoming"}'


def _forms(key: bytes) -> tuple[str, str]:
    padded = "whsec_" + base64.b64encode(key).decode()
    return padded, padded.rstrip("=")


@given(st.binary(min_size=1, max_size=64))
def test_padded_and_unpadded_secrets_are_the_same_key(key: bytes) -> None:
    padded, unpadded = _forms(key)
    assert secret_key(padded) == secret_key(unpadded) == key
    assert not is_raw_secret(unpadded)


@given(st.binary(min_size=1, max_size=64), st.text(min_size=1, max_size=30))
def test_the_reference_library_agrees_on_both_forms(
    key: bytes, webhook_id: str
) -> None:
    padded, unpadded = _forms(key)
    webhook_id = "msg_" + webhook_id.encode().hex()
    now = int(time.time())
    ours = sign_webhook(BODY, unpadded, webhook_id=webhook_id, timestamp=now)
    assert ours == sign_webhook(BODY, padded, webhook_id=webhook_id, timestamp=now)
    for secret in (padded, unpadded):
        # The reference library verifies what we sign, under either form...
        standardwebhooks.Webhook(secret).verify(BODY, dict(ours), json_parse=False)
        # ...and we verify what it signs.
        theirs = standardwebhooks.Webhook(secret).sign(
            webhook_id, datetime.fromtimestamp(now, UTC), BODY.decode()
        )
        headers = {**ours, "webhook-signature": theirs}
        assert verify_webhook_signature(BODY, headers, secret) == webhook_id


def test_the_openai_sdk_agrees_on_the_padded_form_and_refuses_the_unpadded() -> None:
    key = b"32 bytes of key, not a multiple!"  # base64 ends with "=": padding matters
    padded, unpadded = _forms(key)
    assert padded.endswith("=") and not unpadded.endswith("=")
    headers = sign_webhook(BODY, unpadded)
    client = openai.OpenAI(api_key="sk-not-used")
    client.webhooks.verify_signature(BODY, headers, secret=padded)
    with pytest.raises(binascii.Error):
        client.webhooks.verify_signature(BODY, headers, secret=unpadded)


def test_a_raw_secret_is_its_utf8_bytes_as_in_the_openai_sdk() -> None:
    raw = "not base64: été"
    assert is_raw_secret(raw)
    assert secret_key(raw) == raw.encode()
    headers = sign_webhook(BODY, raw)
    client = openai.OpenAI(api_key="sk-not-used")
    client.webhooks.verify_signature(BODY, headers, secret=raw)
    # Not decoded as base64, as the reference library would decode it.
    with pytest.raises(SignatureMismatchError):
        verify_webhook_signature(BODY, headers, "whsec_" + raw.encode().hex())


@pytest.mark.parametrize(
    "secret",
    ["whsec_abcde", "whsec_ab=c", "whsec_a===", "whsec_ab-_", "whsec_=", "whsec_"],
)
def test_base64_that_no_padding_completes_is_refused(secret: str) -> None:
    with pytest.raises(InvalidSecretError) as info:
        secret_key(secret)
    encoded = secret.removeprefix("whsec_")
    assert len(encoded) < 2 or encoded not in str(info.value)
