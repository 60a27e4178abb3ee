"""Pipeline Warden shared layer: models, configuration, routing, messages, ledger and AWS clients."""
