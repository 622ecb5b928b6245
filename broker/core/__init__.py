"""The semantics of the broker: models, rules, ports and the service. Standard library only."""
