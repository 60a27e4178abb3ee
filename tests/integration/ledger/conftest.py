import json

import pytest


@pytest.fixture(scope="session")
def story_path(tmp_path_factory):
    """test_dora_story's week on disk, once a session: the `warden ledger` commands over it (this directory's
    tests) then replay it once (warden_cli)."""
    from tests.integration.ledger.test_dora_story import story

    path = tmp_path_factory.mktemp("dora") / "week48.json"
    path.write_text(json.dumps(story()))
    return str(path)
