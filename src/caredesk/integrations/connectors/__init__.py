"""Connectors to a CRM, an order system and a logistics tracker, declared in a file, with a circuit breaker."""
