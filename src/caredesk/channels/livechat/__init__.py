"""Live web chat: the customer's open chat updates as agents reply, join and type; a customer can ask for a person."""
