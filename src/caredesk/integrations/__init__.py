"""The systems around CareDesk: outgoing event webhooks and connectors to a CRM, an order system and a
logistics tracker."""
