"""The order suite: a bundled story delivered the way EventBridge and SNS deliver, compared with its in-order run.

A story is a scenario (`warden replay`'s format): real API calls that build the world, configuration, and
steps in story time. Here every step still *happens* at its own time: an event changes CodePipeline's and
CloudWatch's state when it happened, a `call` step (a person's click) is made then, and a `schedule` step
(the escalation sweep, the artifact pass) runs then, on the clock of the story. Only the *deliveries* move:
each event reaches each function that template.yaml routes it to (each target on its own, as EventBridge
and SNS deliver) one to three times, each delivery up to LATEST after the event happened (the rules'
`MaximumEventAgeInSeconds` is 3600: EventBridge drops an event older than an hour; SNS's retries are held to
the same hour). Redeliveries of one event carry the same payload (the EventBridge id, the SNS MessageId).

What CodePipeline does because of Warden happens after Warden does it: an event of a rollback execution (its
id is the one RollbackStage gives) waits for the RollbackStage call and keeps the distance to it that it had
in the in-order run. Without that, a late alarm would find its rollback's own events already happened.

What is compared (`Outcome`) is what people and AWS saw at the end, summed over the whole run: messages by
audience (topic, classified event, subject and body), pages and resolves (with what the responder's phone
shows), the mutating AWS calls Warden made (RollbackStage, StopDeployment, S3 writes), the final items of
every table the stack declares, every bucket's final configuration, and dead letters. It is normalised
only for what legitimately differs between two runs of the same story:

- table fields that are delivery bookkeeping (which delivery claimed the work and when, a claim's expiry,
  when Warden heard what resolved something, when a pass triggered by a late event read and wrote): these
  are instants of delivery, not of the story (DELIVERY_FIELDS, DELIVERY_SUFFIXES);
- what the embedded world makes afresh in every run: ids in the responses a scenario saves (a KMS key, an
  approval token) wherever they appear, the digest of a message that carries such a token, and the wall-clock
  time of an artifact-store discovery (WORLD_MADE, `_facts`);
- four outcomes whose content truly depends on arrival order, each a product decision stated where it is
  applied (the numbered comments below, and the README's "Order testing"): the wording of an incident's
  first page, the release facts known when a message is sent, how an approval's announcement was heard, and
  which ALARM transition of a flap is credited with the one rollback.

Everything else is compared as it is, story-time stamps inside messages included (a failure's time, a
reminder's wait): they must come from the events and the sweep's clock, not from when a delivery arrived.

A divergence is reported as a minimal diff: per aspect, what the in-order run had that the shuffled one did
not (`-`) and the other way round (`+`).

    python -m tests.faults.order_suite [--seeds N] [STORY ...]     # a table of seeds run and divergent
"""

from __future__ import annotations

import copy
import heapq
import json
import random
import re
import sys
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from tests.helpers import EVENTS
from warden.core import clock

LATEST = timedelta(hours=1)  # EventBridge's maximum event age for every rule of template.yaml
COPIES = (1, 3)  # each event reaches each of its functions this many times, at least and at most
SEEDS = 30

# Table fields that say which delivery did the work and when, not what happened (see the module's docstring).
DELIVERY_FIELDS = frozenset({
    "owner", "needed_owner", "needed_claimed_at", "claimed_at", "claimed_s", "intent_at", "marked_at",
    "expires_at", "ttl",
    # when Warden heard what resolved an incident or an approval, and when an artifact pass read, wrote and
    # told (the pass a late CloudTrail event triggers runs when it arrives)
    "resolved_at", "read_at", "written_at", "told_at",
    # the ts of an approval's Slack message: when the delivery that posted it ran (Slack's ts is its post time)
    "slack_ts",
})
SLACK_INSTANTS = frozenset({"ts", "thread_ts"})
# Slack's signed requests Warden accepted (replay protection) are keyed by their signature, which covers the
# message clicked (as the delivery that posted it worded it): compared by kind, not by signature.
SEEN_REQUEST = re.compile(r'"slack-request#[0-9a-z=]+"')
# A claim's owner is the delivery that holds it: `needed_owner`, `tier_remind_owner`, ...
DELIVERY_SUFFIXES = ("_owner",)
# The health watch's claims hold their owner (the sweep's scheduled event id, made afresh in every run) under the
# phase's own name (warden.health.watch: opened, paged, recovered, resolved), on its partition's items.
HEALTH_PARTITION, HEALTH_CLAIMS = "pipeline-warden/health", frozenset({"opened", "paged", "recovered", "resolved"})
# Made by the embedded world afresh in every run: the approval token CodePipeline issues (and the review link
# and message digest that carry it), and the wall-clock time of a pipeline's artifact-store discovery.
WORLD_MADE = frozenset({"token", "review_link", "message_digest", "updated"})
# (2) How the ledger learnt the release: from the STARTED event, or from CodePipeline's API when it came late.
PROVENANCE = frozenset({"enrichment"})
NORMALISED = DELIVERY_FIELDS | WORLD_MADE | PROVENANCE
# The legitimate divergences, each a product decision (README: the order suite):
# 1. An incident's page and message are sent on the first failure heard of the execution, worded as that
#    event (action, stage or pipeline failed): which one arrives first is the order itself. Compared: the
#    audience, severity, pipeline, execution, dedup key and component, not the wording.
FAILURES = frozenset({"action.failed", "stage.failed", "pipeline.failed"})
INCIDENT_WORDING = frozenset({"opened_at", "summary", "event", "class", "first_event_id"})
# 2. A message sent before the execution's STARTED is heard names the release as far as CodePipeline's API
#    knows it, else "unknown (reason)": release facts (commit, its message, author) are either the in-order
#    ones or an explicit unknown, never other values; the commit's link and the trigger type are there when
#    known and absent otherwise (`_facts`).
# 3. An approval is announced by whichever of its two inputs (the action's STARTED, CodePipeline's message) is
#    heard first, when it is heard: the announcement's chat id is that input's, its "Waiting for" is the wait
#    so far, its expiry is the message's when the message came first, else estimated from the action's start
#    (the timeout), and its review link is there only while CodePipeline still shows the request pending (the
#    token is read then). A request's message heard after its decision cannot be verified (its token is no
#    longer pending): it is kept apart as unverified and adds nothing to the decided record, by design (a
#    message is checked, not trusted). Reminders and escalations run on the sweep's clock, compared in full.
MESSAGE_ONLY = frozenset({"console_link", "expires"})  # what only the request's message tells the record
LATE_MESSAGE = "CodePipeline shows no pending approval with this token"
# 4. A rollback is credited to the alarm transition whose delivery made it (either ALARM of a flap within
#    the bake window is a true cause): the transition's instant is compared as "an ALARM transition".


@dataclass
class Story:
    name: str
    scenario: Callable[[], Any]  # a fresh warden_local.replay.Scenario (its events keep fixed ids)
    # What the world's outside parties do besides (a Slack outage), set on the started world of every run.
    outside: Callable[[Any], None] | None = None


@dataclass
class Outcome:
    messages: Counter = field(default_factory=Counter)
    pages: Counter = field(default_factory=Counter)
    calls: Counter = field(default_factory=Counter)
    dead: Counter = field(default_factory=Counter)
    tables: dict[str, list[str]] = field(default_factory=dict)
    buckets: dict[str, str] = field(default_factory=dict)
    # (RollbackStage execution id -> when it was made): what CodePipeline then did waits for it (`caused`).
    made: dict[str, datetime] = field(default_factory=dict)
    deliveries: int = 0

    def aspects(self) -> dict[str, Any]:
        return {"messages": self.messages, "pages": self.pages, "calls": self.calls, "dead letters": self.dead,
                **{f"table {t}": Counter(items) for t, items in self.tables.items()},
                "buckets": Counter(f"{k}: {v}" for k, v in self.buckets.items())}


# -- the stories -----------------------------------------------------------------------------------------
def _bundled(name: str) -> Callable[[], Any]:
    def scenario():
        from warden_local.replay import load

        return load(EVENTS / "scenarios" / name)

    return scenario


def _alarm_story() -> Any:
    """The rollback story (tests/integration/rollback/test_rollback.story_steps, without its hand-made
    redelivery): two releases of checkout-api, the alarm into ALARM 20 minutes after the second deployed, OK at
    +22, ALARM again at +24, and the SNS message of the first transition at +21."""
    from tests import rollback_story as story
    from tests.integration.rollback.test_rollback import T1, two_releases
    from warden_local.replay import Scenario, Step

    end = story.deploy_end(T1)
    events = [s["event"] for s in two_releases()] + [
        story.alarm_event(end + timedelta(minutes=20)),
        story.alarm_event(end + timedelta(minutes=22), "OK", "ALARM"),
        story.alarm_event(end + timedelta(minutes=24))]
    for index, event in enumerate(events):  # fixed ids: every run delivers the same events
        event["id"] = f"alarm-story-{index:02d}"
    steps = [Step(f"alarm-story#{i}", clock.parse_iso(e["time"]), event=e) for i, e in enumerate(events)]
    message = story.alarm_notification(end + timedelta(minutes=20))
    message["NewStateReason"] = events[-3]["detail"]["state"]["reason"]  # one transition, one reason, either way
    steps.append(Step("alarm-story#message", end + timedelta(minutes=21), event=message))
    return Scenario("alarm-story", world=story.world(), config={"rollback": {"tag_grants": story.GRANTS}},
                    steps=steps)


_ALARM = None


def alarm_story() -> Any:
    global _ALARM
    if _ALARM is None:
        _ALARM = _alarm_story()
    return copy.deepcopy(_ALARM)


STORIES = {
    "demo": Story("demo", _bundled("demo.json")),
    "alarm": Story("alarm", alarm_story),
    "approval-asked-again": Story("approval-asked-again", _bundled("approval-asked-again.json")),
    # The Slack app: the request's post (owed from its announcement, claimed per try), its thread, and clicks
    # refused and decided, while the announcing inputs arrive late and repeated.
    "slack-approval": Story("slack-approval", _bundled("slack-approval.json")),
    # The same with Slack down until 10:00: the request is owed, and posted once by the sweep (13:10), whichever
    # of its inputs' copies came first, before the reminder that threads under it.
    "slack-down": Story("slack-approval", _bundled("slack-approval.json"), outside=lambda world: world.slack.outage(
        status=503, until=clock.parse_iso("2026-11-27T10:00:00Z"))),
}


# -- one run ---------------------------------------------------------------------------------------------
def _delays(seed: int | None, index: int, function: str) -> list[timedelta]:
    """When each delivery of step `index` to `function` arrives, after the event happened. Drawn from a
    generator of its own (the seed, the step, the function), so a run does not depend on the order in which
    the deliveries were planned."""
    if seed is None:
        return [timedelta(0)]
    rng = random.Random(f"{seed}/{index}/{function}")
    return [timedelta(seconds=rng.uniform(0, LATEST.total_seconds())) for _ in range(rng.randint(*COPIES))]


def _rollback_of(event: Any) -> str | None:
    if isinstance(event, dict) and event.get("source") == "aws.codepipeline":
        return (event.get("detail") or {}).get("execution-id")
    return None


def _canon(story_facts: list[tuple[re.Pattern, str]], text: str) -> str:
    for pattern, placeholder in story_facts:
        text = pattern.sub(placeholder, text)
    return text


def _facts(scenario: Any, saved: dict[str, Any]) -> list[tuple[re.Pattern, str]]:
    """What the comparison replaces (see NORMALISED and the legitimate divergences): ids the world generated
    (saved responses: KMS keys, approval tokens), the story's ALARM transition instants (4), its release
    facts (2)."""
    out: list[tuple[re.Pattern, str]] = []
    told = json.dumps([scenario.world, [s.event or s.call for s in scenario.steps]], default=str)

    def leaves(value: Any, path: str) -> None:
        if isinstance(value, dict):
            for k, v in value.items():
                leaves(v, f"{path}.{k}")
        elif isinstance(value, list):
            for i, v in enumerate(value):
                leaves(v, f"{path}.{i}")
        elif isinstance(value, str) and UUID.fullmatch(value) and value not in told:
            out.append((re.compile(re.escape(value)), f"<world-id:{path.split('.')[1]}>"))

    leaves(saved, "")
    values, alarms = set(), set()
    for step in scenario.steps:
        event = step.event if isinstance(step.event, dict) else {}
        detail = event.get("detail") if isinstance(event.get("detail"), dict) else {}
        if event.get("source") == "aws.cloudwatch" and (detail.get("state") or {}).get("value") == "ALARM":
            alarms.add(detail["state"]["timestamp"][:19])
        trigger = detail.get("execution-trigger") or {}
        for key in ("author-display-name", "commit-message"):
            if trigger.get(key):
                values.add(trigger[key].split("\n")[0])
        if trigger.get("commit-id"):
            values |= {trigger["commit-id"], trigger["commit-id"][:7]}
    for stamp in sorted(alarms):
        out.append((re.compile(re.escape(stamp) + r"(\.\d+)?(Z|\+00:00|\+0000)?"), "<an ALARM transition>"))
    # Release facts as the texts carry them: plain, markdown-escaped (chat), and inside JSON strings.
    variants = set()
    for value in values:
        md = re.sub(r"([()\[\]*_`])", r"\\\1", value)
        variants |= {value, md, json.dumps(value)[1:-1], json.dumps(md)[1:-1]}
    for value in sorted(variants, key=len, reverse=True):
        out.append((re.compile(re.escape(value)), "<release>"))
    out += [(re.compile(r"unknown \\*\(.*?\\*\)"), "<release>"),
            # the commit's link is there when the commit is known, and not otherwise
            (re.compile(r'(, )?"<?[^"\s]*github\.com/[^"\s]*/commit/[^"]*"'), ""),
            (re.compile(r"\n?Commit link:\** \S*"), ""),
            (re.compile(r"(\\n|\n)?\**Trigger:\** [A-Za-z0-9]+"), ""),
            (re.compile(r"[^\n\"]*Commit:[^\n\"]*<release>[^\n\"]*"), "<release>"),
            (re.compile(r" ?\\*\(<release>\\*\)"), ""),
            (re.compile(r"<release>([^\n\"\w]*<release>)+"), "<release>")] + LISTS
    return out


# What a removed list entry leaves behind in a JSON text.
LISTS = [(re.compile(r"\[\s*,?\s*"), "["), (re.compile(r"\s*,\s*\]"), "]"), (re.compile(r"(, ){2,}"), ", ")]
ANNOUNCED = [(re.compile(r"Waiting for:\** \d+h \d+m"), "Waiting for: <so far>"),
             (re.compile(r"\n?Review: \S+"), ""),
             (re.compile(r'"<?https://[^"\s|]*/approve/[^"\s|]*(\|Review>)?"(, )?'), ""),
             (re.compile(r"Expires:\** \S+"), "Expires: <the message's or estimated>"),
             (re.compile(r'^\{"version": "1.0", "source": "custom", "id": "[^"]*"'),
              '{"version": "1.0", "source": "custom", "id": "<the input heard first>"')] + LISTS
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def run(story: Story, seed: int | None, caused: dict[str, timedelta] | None = None) -> Outcome:
    """The story with every delivery in order and on time (seed None), or late and repeated as `seed` draws.
    `caused`: execution id -> how long after Warden's RollbackStage call its events happened in the in-order
    run (an event of such an execution waits for the call)."""
    from warden_local import fakes
    from warden_local.fakes import codepipeline_state
    from warden_local.replay import Replayer, Scenario, substitute, world_of
    from warden_local.world import SLACK_APP, World

    scenario = story.scenario()
    account, region = world_of([scenario])
    outcome = Outcome()
    # A story with a Slack workspace runs on a stack with a Slack app (as `warden replay` gives it one).
    parameters = {"SlackSecretArn": SLACK_APP} if scenario.slack is not None else None
    with World(account=account, region=region, parameters=parameters) as world:
        if story.outside is not None:
            story.outside(world)
        replayer = Replayer(world)
        replayer.check(scenario)
        replayer.run(Scenario(scenario.label, world=scenario.world, config=scenario.config,
                              workloads=scenario.workloads, slack=scenario.slack))
        pipeline = codepipeline_state(world.account, world.region)
        queue: list[tuple[datetime, tuple, tuple]] = []
        for index, step in enumerate(scenario.steps):
            heapq.heappush(queue, (step.at or clock.now(), (index, 0), ("step", index)))
        waiting: dict[str, list[tuple[int, timedelta]]] = {}  # execution id -> steps waiting for Warden's call
        caused = caused or {}

        raw: list[dict[str, Any]] = []

        def observe(effects: list[dict[str, Any]]) -> None:
            raw.extend(effects)
            for made in pipeline.rollbacks[len(outcome.made):]:  # Warden's rollbacks: what they cause may happen
                execution = made["pipelineExecutionId"]
                outcome.made[execution] = clock.now()
                for index, after in waiting.pop(execution, []):
                    heapq.heappush(queue, (clock.now() + after, (index, 0), ("step", index)))

        def count(facts: list[tuple[re.Pattern, str]]) -> None:
            for e in raw:
                if e["kind"] == "message" and e["event"] in FAILURES:  # (1): not the wording
                    execution = re.search(r"Execution:\** ([0-9a-f-]{36})", e["body"])
                    outcome.messages[(e["topic"], "a failure heard first", e["severity"], e["pipeline"],
                                      execution and execution.group(1))] += 1
                elif e["kind"] == "message":
                    body = _canon(facts, e["body"])
                    if e["event"] == "approval.needed":  # (3)
                        body = _canon(ANNOUNCED, body)
                    outcome.messages[(e["topic"], e["event"], _canon(facts, e["subject"]), body)] += 1
                elif e["kind"] == "page" and e.get("class") in FAILURES:  # (1)
                    details = e.get("custom_details") or {}
                    outcome.pages[json.dumps({"action": e["action"], "dedup_key": e["dedup_key"],
                                              "severity": e.get("severity"), "component": e.get("component"),
                                              "execution": details.get("execution")}, sort_keys=True)] += 1
                elif e["kind"] == "page":  # (2): the release as far as known, its link with it
                    page = {k: v for k, v in e.items() if k != "kind"}
                    page["links"] = [link for link in page.get("links") or [] if link.get("text") != "Commit"]
                    page["custom_details"] = {k: v for k, v in (page.get("custom_details") or {}).items()
                                              if k != "trigger"}
                    outcome.pages[_canon(facts, json.dumps(page, sort_keys=True))] += 1
                elif e["kind"] == "call":
                    # A Slack message's ts is the instant it was posted: a delivery's, when a late input posted it.
                    params = json.dumps({k: v for k, v in e["params"].items() if not (
                        e["api"].startswith("slack:") and k in SLACK_INSTANTS)}, sort_keys=True, default=str)
                    outcome.calls[_canon(facts, f"{e['api']} {params}")] += 1
                elif e["kind"] == "dead_letter":
                    outcome.dead[(e["function"], e["error"])] += 1

        while queue:
            when, _, action = heapq.heappop(queue)
            world.set_time(when)
            mark = world.begin()
            if action[0] == "deliver":
                _, index, function, payload = action
                outcome.deliveries += 1
                world.invoke(function, copy.deepcopy(payload))
                observe(world.effects(mark))
                continue
            index = action[1]
            step = scenario.steps[index]
            if step.event is None:  # a call, a click or a schedule: at its time, in story time (effects observed)
                observe(replayer.step(step)["effects"])
                continue
            event = substitute(step.event, replayer.saved, step.label) if step.inline else step.event
            execution = _rollback_of(event)
            if execution in caused and execution not in outcome.made:
                waiting.setdefault(execution, []).append((index, caused[execution]))
                continue
            routes = replayer.routes(copy.deepcopy(event)) if step.heard else []
            if step.happens:
                fakes.apply_event(copy.deepcopy(event))
            for function, payload in routes:
                for n, delay in enumerate(_delays(seed, index, function)):
                    heapq.heappush(queue, (when + delay, (index, 1, function, n), ("deliver", index, function,
                                                                                  payload)))
            observe(world.effects(mark))
        # The approval tokens the embedded CodePipeline issued (a story that saves none still carries them: the
        # review link, PutApprovalResult from Slack): made afresh in every run, like the saved responses' ids.
        issued = {i["token"] for lid in world.observed_tables() for i in world.table_items(lid)
                  if isinstance(i.get("token"), str) and UUID.fullmatch(i["token"])}
        facts = _facts(scenario, replayer.saved | {"issued": sorted(issued)})
        count(facts)
        outcome.tables = {lid: sorted(_canon(facts, _plain(i)) for i in world.table_items(lid)
                                      if not _late_message(i, replayer.saved))
                          for lid in world.observed_tables()}
        outcome.buckets = {name: _canon(facts, json.dumps(config, sort_keys=True, default=str))
                           for name, config in world.buckets().items()}
    return outcome


def _late_message(item: dict[str, Any], saved: dict[str, Any]) -> bool:
    """(3) A request's own message heard after its decision: kept as unverified, its token one the world issued."""
    return item.get("status") == "unverified" and item.get("reason") == LATE_MESSAGE and \
        item.get("token") in json.dumps(saved, default=str)


def _plain(item: dict[str, Any]) -> str:
    """An item without its delivery bookkeeping (nested too: a rollback's record in the ledger), its sets
    sorted (DynamoDB sets have no order)."""
    incident = item.get("sk") == "incident" and "/pipeline/" in str(item.get("pk"))
    if item.get("pk") == HEALTH_PARTITION:
        item = {k: v for k, v in item.items() if k not in HEALTH_CLAIMS}
    decided = str(item.get("pk")).startswith("approval#") and item.get("status") not in (None, "pending")

    def without(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: without(v) for k, v in sorted(value.items()) if k not in NORMALISED
                    and not k.endswith(DELIVERY_SUFFIXES) and not (incident and k in INCIDENT_WORDING)
                    and not (decided and k in MESSAGE_ONLY)}
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            return sorted(value)
        if isinstance(value, list):
            return [without(v) for v in value]
        return value

    return SEEN_REQUEST.sub('"slack-request#<signature>"', json.dumps(without(item), sort_keys=True, default=str))


# -- comparison ------------------------------------------------------------------------------------------
def diff(expected: Outcome, observed: Outcome) -> dict[str, list[str]]:
    """Per aspect that differs, a minimal diff: each thing only one run had, paired with its nearest
    counterpart in the other run and shown as the words that differ (`-` the in-order run, `+` this one)."""
    out = {}
    exp, obs = expected.aspects(), observed.aspects()
    for aspect in sorted(exp.keys() | obs.keys()):
        a, b = exp.get(aspect, Counter()), obs.get(aspect, Counter())
        if a != b:
            out[aspect] = _pairs(_listed(a - b), _listed(b - a))
    return out


def _listed(counter: Counter) -> list[str]:
    return sorted(f"{n}x {_short(k)}" if n > 1 else _short(k) for k, n in counter.items())


def _short(key: Any) -> str:
    text = key if isinstance(key, str) else " | ".join(str(k) for k in key)
    return re.sub(r"\s+", " ", text)


def _pairs(missing: list[str], extra: list[str]) -> list[str]:
    import difflib

    lines, extra = [], list(extra)
    for gone in missing:
        best = max(extra, key=lambda e: difflib.SequenceMatcher(None, gone, e).ratio(), default=None)
        if best is None or difflib.SequenceMatcher(None, gone, best).ratio() < 0.5:
            lines.append(f"- {gone[:300]}")
            continue
        extra.remove(best)
        lines.append(f"~ {_words(gone, best)}")
    return lines + [f"+ {e[:300]}" for e in extra]


def _words(a: str, b: str) -> str:
    """What differs between two long texts, word by word, with a little context."""
    import difflib

    wa, wb = re.findall(r"[^\s,]+", a), re.findall(r"[^\s,]+", b)
    parts = []
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(None, wa, wb, autojunk=False).get_opcodes():
        if op != "equal":
            context = " ".join(wa[max(0, i1 - 3):i1])
            parts.append(f"...{context} [-{' '.join(wa[i1:i2])}-] [+{' '.join(wb[j1:j2])}+]")
    return f"{' '.join(wa[:4])} ... " + " ".join(parts)[:1200]


def caused_by(expected: Outcome, story: Story) -> dict[str, timedelta]:
    """How long after each RollbackStage call of the in-order run the story's events of its execution
    happened."""
    scenario = story.scenario()
    out = {}
    for step in scenario.steps:
        execution = _rollback_of(step.event)
        if execution in expected.made and step.at is not None:
            out[execution] = max(timedelta(0), step.at - expected.made[execution])
    return out


@dataclass
class Report:
    story: str
    seeds: list[int]
    divergent: dict[int, dict[str, list[str]]]
    in_order: Outcome

    def text(self) -> str:
        lines = [f"{self.story}: {len(self.seeds)} seeds, {len(self.divergent)} divergent"]
        for seed, d in sorted(self.divergent.items()):
            lines.append(f"  seed {seed}:")
            for aspect, changes in d.items():
                lines += [f"    {aspect}: {change}" for change in changes]
        return "\n".join(lines)


_IN_ORDER: dict[str, tuple[Outcome, dict[str, timedelta]]] = {}


def in_order(name: str) -> tuple[Outcome, dict[str, timedelta]]:
    if name not in _IN_ORDER:
        outcome = run(STORIES[name], None)
        _IN_ORDER[name] = (outcome, caused_by(outcome, STORIES[name]))
    return _IN_ORDER[name]


def check(name: str, seed: int) -> dict[str, list[str]]:
    expected, caused = in_order(name)
    return diff(expected, run(STORIES[name], seed, caused))


def suite(name: str, seeds: list[int]) -> Report:
    expected, _ = in_order(name)
    divergent = {s: d for s in seeds if (d := check(name, s))}
    return Report(name, seeds, divergent, expected)


def main(argv: list[str]) -> int:
    import argparse
    import time

    from warden_local.world import LOCAL_ENV, environment

    parser = argparse.ArgumentParser(prog="python -m tests.faults.order_suite")
    parser.add_argument("--seeds", type=int, default=SEEDS)
    parser.add_argument("--first", type=int, default=0, help="the first seed")
    parser.add_argument("stories", nargs="*", default=sorted(STORIES))
    args = parser.parse_args(argv)
    failed = 0
    with environment(LOCAL_ENV, keep_set=True):
        for name in args.stories:
            start = time.perf_counter()
            report = suite(name, list(range(args.first, args.first + args.seeds)))
            print(report.text())
            print(f"  ({time.perf_counter() - start:.1f} s)", flush=True)
            failed += bool(report.divergent)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
    raise SystemExit(main(sys.argv[1:]))
