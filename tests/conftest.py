import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EVENTS = ROOT / "events"

# Never an account: every client in the tests talks to the embedded AWS.
for name, value in {"AWS_DEFAULT_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": "testing",
                    "AWS_SECRET_ACCESS_KEY": "testing", "AWS_SESSION_TOKEN": "testing",
                    "AWS_EC2_METADATA_DISABLED": "true"}.items():
    os.environ.setdefault(name, value)


@pytest.fixture
def world():
    from warden_local.world import World

    with World() as w:
        yield w


@pytest.fixture(scope="session")
def warden_cli():
    """`warden_cli("ledger", "current")`: a `warden` command's CompletedProcess, from one process that replays
    each input once for every `ledger` command over it (tests/cli_session.py)."""
    from tests.cli_session import Session

    with Session() as session:
        yield session.run
