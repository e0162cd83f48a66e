"""SMS in and out through a gateway: a generic HTTP webhook and one Chinese provider's format, receipts, opt-out."""
