"""Sans-IO webhooks: Standard Webhooks signatures, the webhook event records, their parsing, and de-duplication stores."""
