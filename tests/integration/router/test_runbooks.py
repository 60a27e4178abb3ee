"""A runbook behind every page (warden.notify.runbooks): every page and on-call message of the demo and the
bundled stories names a runbook that exists in docs/runbooks/; a routing rule's `runbook` overrides it;
`RunbookBaseUrl` turns the file into a link."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.helpers import ROOT, effects, pipeline_world, sample, write_scenario
from tests.integration.artifacts.test_artifacts import feed
from tests.integration.router.test_incidents import broken_paging_story
from warden.notify import runbooks
from warden.notify.rules import DEFAULTS
from warden_local.replay import Replayer, Scenario, replay
from warden_local.world import World

STORIES = sorted((ROOT / "events" / "scenarios").glob("*.json"))
RUNBOOKS = ROOT / "docs" / "runbooks"
FILE = re.compile(r"docs/runbooks/([a-z-]+)\.md")
# The kinds that page, or reach on-call, by default (warden.notify.rules.DEFAULTS).
PAGE_KINDS = {kind for kind, decision in DEFAULTS.items() if "oncall" in decision.audiences} | {
    "approval.escalated", "pipeline.slow", "config.invalid"}
BASE = "https://github.com/example-org/warden/blob/v0.2.0/docs/runbooks"


def named(text: str) -> list[str]:
    """The runbook files `text` names, each checked to exist."""
    found = FILE.findall(text)
    for name in found:
        assert (RUNBOOKS / f"{name}.md").is_file(), f"docs/runbooks/{name}.md does not exist"
    return found


def page_runbook(page: dict) -> list[str]:
    links = [link["href"] for link in page.get("links", []) if link.get("text") == "Runbook"]
    return named(" ".join(links) + " " + str(page.get("custom_details", {}).get("runbook", "")))


def test_every_runbook_says_what_warden_did_what_to_check_and_how_to_undo_it():
    for name in runbooks.ALL:
        text = (RUNBOOKS / f"{name}.md").read_text()
        for section in ("## What Warden already did", "## What to check first", "## How to undo Warden's action"):
            assert section in text, f"{name}.md lacks {section!r}"
    assert {p.stem for p in RUNBOOKS.glob("*.md")} - {"README"} == set(runbooks.ALL)


@pytest.mark.parametrize("story", STORIES, ids=lambda p: p.name)
def test_every_page_and_on_call_message_of_a_story_names_a_runbook_that_exists(story):
    # Given a bundled story, When it is replayed without RunbookBaseUrl
    doc = replay([str(story)])
    assert effects(doc, "message"), "every story tells somebody something"
    # Then every page names its runbook (the file, as text: no base URL, no link) and it exists
    for page in effects(doc, "page", action="trigger"):
        assert page_runbook(page), f"a page of {story.name} names no runbook: {page['summary']}"
        assert "Runbook" not in {link.get("text") for link in page["links"]}  # no link that cannot be opened
    # And so does every message on OnCallTopic, and every message of a kind that pages, to whoever it goes
    for message in effects(doc, "message"):
        if message["topic"] == "OnCallTopic" or message["event"] in PAGE_KINDS:
            assert set(named(message["body"])) == {runbooks.BY_EVENT[message["event"]]}, \
                f"{story.name}: {message['subject']}"


def test_the_demo_pages_every_kind_it_has_with_the_kinds_runbook():
    doc = replay([str(ROOT / "events" / "scenarios" / "demo.json")])
    pages = {page["custom_details"]["event"]: page_runbook(page) for page in effects(doc, "page", action="trigger")}
    assert pages == {"action.failed": ["pipeline-failure"], "approval.escalated": ["approval-escalated"],
                     "rollback.started": ["rollback-done"]}


def test_a_routing_rules_runbook_overrides_the_default_on_the_page_and_the_message(tmp_path):
    # Given a rule with its own runbook for payments-* failures
    config = {"routing": {"rules": [{"name": "payments", "match": {"pipelines": ["payments-*"]},
                                     "runbook": "https://runbooks.example.com/payments"}]}}
    # When an action of payments-api fails
    doc = replay([write_scenario(tmp_path, [{"event": sample("codepipeline/action-failed-build.json")}],
                                 config=config)])
    # Then the page links the rule's runbook, and names no default
    [page] = effects(doc, "page", action="trigger")
    assert {"href": "https://runbooks.example.com/payments", "text": "Runbook"} in page["links"]
    assert "runbook" not in page["custom_details"]
    # And so does on-call's message
    [message] = effects(doc, "message", topic="OnCallTopic")
    assert "Runbook: https://runbooks.example.com/payments" in message["body"]
    assert "docs/runbooks/" not in message["body"]


def test_with_runbook_base_url_the_default_is_a_link_to_the_kinds_file(tmp_path):
    # Given a stack whose RunbookBaseUrl is where docs/runbooks is published
    with World(parameters={"RunbookBaseUrl": BASE + "/"}) as world:
        # When an action fails
        doc = replay([write_scenario(tmp_path, [{"event": sample("codepipeline/action-failed-build.json")}])],
                     world=world)
    # Then the page and on-call's message link the kind's runbook under it (and the file exists)
    [page] = effects(doc, "page", action="trigger")
    assert {"href": f"{BASE}/pipeline-failure.md", "text": "Runbook"} in page["links"]
    [message] = effects(doc, "message", topic="OnCallTopic")
    assert f"Runbook: {BASE}/pipeline-failure.md\n" in message["body"] + "\n"
    chat = json.loads(effects(doc, "message", topic="ChatTopic")[0]["body"])
    assert f"<{BASE}/pipeline-failure.md|Runbook>" in chat["content"]["nextSteps"]
    assert page_runbook(page) == ["pipeline-failure"]


def test_the_paging_broken_notice_names_its_own_runbook(tmp_path):
    # Given a failure whose page PagerDuty's secret refused (tests/integration/router/test_incidents.py)
    doc = broken_paging_story(tmp_path, lambda failed: [{"at": "2026-11-27T13:03:00Z", "event": failed}])
    # Then the team's notice names the paging-broken runbook, not the failure's
    [told] = [m for m in effects(doc, "message", topic="TeamTopic") if "Paging is broken" in m["subject"]]
    assert named(told["body"]) == ["paging-broken"]
    # And the redrive's page names the failure's runbook
    [page] = effects(doc, "page", action="trigger")
    assert page_runbook(page) == ["pipeline-failure"]


def test_the_configuration_invalid_notice_names_its_runbook(world):
    # Given a routing document that does not validate stored in the parameter
    ssm = world.client("ssm")
    ssm.put_parameter(Name=f"{world.parameter('ConfigPrefix')}/routing", Type="String",
                      Value=json.dumps({"routing": {"rules": []}}))
    replayer = Replayer(world)
    replayer._setup(Scenario("test", world=pipeline_world()))
    # When a function reads it
    step = feed(replayer, sample("codepipeline/pipeline-failed.json"))
    # Then the team's notice names the configuration-invalid runbook
    [notice] = [e for e in step["effects"] if e["kind"] == "message" and e["event"] == "config.invalid"]
    assert named(notice["body"]) == ["configuration-invalid"]


def test_the_dead_letter_alarms_name_their_runbook():
    template = (ROOT / "template.yaml").read_text()
    descriptions = re.findall(r"AlarmName: !Sub pipeline-warden-\$\{Environment\}-[a-z-]+-dead-letters\n"
                              r"\s+AlarmDescription: (.*)", template)
    assert len(descriptions) >= 6
    assert all(named(d) == ["dead-letters"] for d in descriptions)


def test_the_readme_names_the_runbooks_and_the_parameter():
    readme = (ROOT / "README.md").read_text()
    assert "RunbookBaseUrl" in readme and "docs/runbooks/" in readme
    assert Path(RUNBOOKS / "README.md").is_file()
