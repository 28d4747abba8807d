"""Delivery: the campaign ledger (exactly once), batching, retries, and the backends that send."""
