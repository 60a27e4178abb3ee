"""Classification: contract event kinds, and what a notice carries from the event."""

import json

from tests.helpers import EVENTS
from warden.models import parse_event
from warden.notify.notice import classify


def notice_of(name, **detail):
    event = json.loads((EVENTS / "codepipeline" / name).read_text())
    event["detail"].update(detail)
    return classify(parse_event(event))


def test_a_git_triggered_execution_carries_commit_author_link_and_duration():
    trigger = json.loads((EVENTS / "codepipeline" / "pipeline-failed.json").read_text())["detail"]["execution-trigger"]
    notice = notice_of("pipeline-failed.json")
    assert notice.event == "pipeline.failed"
    assert (notice.commit, notice.author) == (trigger["commit-id"], trigger["author-display-name"])
    assert notice.links["commit"] == f"https://github.com/{trigger['full-repository-name']}/commit/{trigger['commit-id']}"
    assert notice.duration and notice.duration[0].isdigit()


def test_no_duration_without_a_start_time_or_before_the_end():
    assert notice_of("pipeline-failed.json", **{"start-time": None}).duration is None
    assert notice_of("pipeline-started.json").duration is None


def test_approval_actions_and_stage_starts_are_not_the_router_s():
    assert notice_of("action-started-approval.json") is None
    assert notice_of("stage-started-source.json") is None
