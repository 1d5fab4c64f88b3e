"""Call control over REST and the SIP call server (its ASGI app runs on hypercorn's trio worker)."""
