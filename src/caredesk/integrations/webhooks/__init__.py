"""Outgoing event webhooks: subscriptions, signed deliveries from the outbox, delivery log, replay."""
