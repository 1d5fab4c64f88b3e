"""Sans-IO webhooks: Standard Webhooks signatures, the webhook event records and de-duplication stores."""
