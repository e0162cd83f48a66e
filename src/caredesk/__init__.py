"""CareDesk: self-hosted customer-service and complaint handling (Chinese and English)."""

__version__ = "0.1.0"
