"""The JSON API under /api/v1 (thin: parse, call a service inside a transaction, shape)."""
