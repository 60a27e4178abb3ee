"""Pipeline Warden shared layer: models, configuration, routing, messages, ledger and AWS clients."""

# The release, as pyproject.toml's `version` says (tests/unit/test_version.py checks that they, the template's
# Metadata.Version and CHANGELOG.md agree). The layer ships without pyproject.toml, so it is written here too.
__version__ = "0.2.0"
