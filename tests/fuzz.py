"""Hostile inputs for every handler, from a seed: real samples mutated (fields dropped, wrong types, huge
and invisible strings, nested garbage), wrapped in the envelopes each function receives, and plain
random JSON. The same seed gives the same inputs, so a failure is reproduced by its seed and index."""

from __future__ import annotations

import argparse
import copy
import json
import random
import re
import sys
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from tests.helpers import EVENTS
from warden_local.observe import drain

if TYPE_CHECKING:
    from warden_local.world import World

SAMPLES: dict[str, list[dict[str, Any]]] = {
    folder.name: [json.loads(p.read_text()) for p in sorted(folder.glob("*.json"))]
    for folder in sorted(EVENTS.iterdir()) if folder.is_dir() and folder.name != "scenarios"
}
for extra in sorted((EVENTS.parent / "tests" / "samples").glob("*/*.json")):  # documented AWS samples
    SAMPLES.setdefault(extra.parent.name, []).append(json.loads(extra.read_text()))

# What each function is sent by its routes (template.yaml), before mutation.
SOURCES = {
    "NotificationRouter": ["codepipeline", "codedeploy"],
    "DeploymentTracker": ["codepipeline"],
    "ApprovalTracker": ["approval-sns", "codepipeline"],
    "ApprovalEscalator": ["scheduled"],
    "ArtifactGuard": ["cloudtrail", "scheduled"],
    "RollbackTrigger": ["cloudwatch", "alarm-sns", "codepipeline"],
    "DeploymentValidationHook": ["lifecycle-hook"],
}

STRINGS = [
    "", " ", "0", "-1", "null", "true", "NaN", "\x00", "\u202eevil\u202c", "a\u200bb", "\ufeff", "\U000e0041tag",
    "\ud800", "a\udfffb", "x" * 5000, "é" * 300, "😀" * 50, "<script>", "<!channel>", "@here", "[x](https://evil.example)",
    "https://evil.example/p", "0001-01-01T00:00Z", "9999-12-31T23:59Z", "2026-13-45T99:99Z", "1970-01-01T00:00:00Z",
    "us-east-1", "US-EAST-1", "../../etc", "moon-base-1", "aws.codepipeline", "ALARM", "FAILED", "STARTED",
    "Approval", "123456789012", "arn:aws:codepipeline:us-east-1:123456789012:p", "\n\r\t", "%s%n", "${x}",
]
SCALARS: list[Any] = [None, True, False, 0, 1, -1, 2**63, 1.5, -0.0, 1e308, [], {}, [None], {"": None}]


class Fuzzer:
    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)

    # -- values -------------------------------------------------------------------------------------
    def scalar(self) -> Any:
        rng = self.rng
        pick = rng.random()
        if pick < 0.45:
            return rng.choice(STRINGS)
        if pick < 0.75:
            return copy.deepcopy(rng.choice(SCALARS))
        if pick < 0.9:
            return "".join(chr(rng.choice([rng.randint(0, 0x7f), rng.randint(0x80, 0x2fff),
                                           rng.randint(0xe000, 0xe007f), rng.randint(0x1f300, 0x1f6ff)]))
                           for _ in range(rng.randint(0, 40)))
        return rng.randint(-10**12, 10**12)

    def json(self, depth: int = 0) -> Any:
        rng = self.rng
        if depth > 3 or rng.random() < 0.4:
            return self.scalar()
        if rng.random() < 0.5:
            return [self.json(depth + 1) for _ in range(rng.randint(0, 4))]
        return {str(self.scalar())[:20]: self.json(depth + 1) for _ in range(rng.randint(0, 4))}

    # -- mutations ----------------------------------------------------------------------------------
    def _paths(self, doc: Any, prefix: tuple = ()) -> list[tuple]:
        out: list[tuple] = []
        if isinstance(doc, dict):
            for k, v in doc.items():
                out.append((*prefix, k))
                out += self._paths(v, (*prefix, k))
        elif isinstance(doc, list):
            for i, v in enumerate(doc[:4]):
                out.append((*prefix, i))
                out += self._paths(v, (*prefix, i))
        return out

    def mutate(self, doc: Any, times: int | None = None) -> Any:
        doc = copy.deepcopy(doc)
        rng = self.rng
        for _ in range(times if times is not None else rng.choice([1, 1, 1, 2, 3])):
            paths = self._paths(doc)
            if not paths:
                return self.json()
            path = rng.choice(paths)
            parent = doc
            for key in path[:-1]:
                parent = parent[key]
            last = path[-1]
            op = rng.random()
            if op < 0.3:
                del parent[last]  # a field goes missing
            elif op < 0.55:
                parent[last] = self.scalar()  # the wrong type, or a hostile string
            elif op < 0.7:
                parent[last] = self.json()  # nested garbage
            elif op < 0.8 and isinstance(parent[last], str):
                parent[last] = parent[last] + rng.choice(STRINGS)  # hostile text appended
            elif op < 0.9 and isinstance(parent, dict):
                parent[str(self.scalar())[:30]] = self.json()  # an unknown field
            else:
                parent[last] = copy.deepcopy(rng.choice(SCALARS))
        return doc

    # -- envelopes ----------------------------------------------------------------------------------
    def fresh_id(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def sns(self, messages: list[Any]) -> dict[str, Any]:
        records = [{"EventSource": "aws:sns", "EventVersion": "1.0",
                    "EventSubscriptionArn": "arn:aws:sns:us-east-1:111122223333:t:1",
                    "Sns": {"Type": "Notification", "MessageId": self.fresh_id(),
                            "TopicArn": "arn:aws:sns:us-east-1:111122223333:t",
                            "Message": m if isinstance(m, str) else json.dumps(m), "Timestamp": "2026-11-27T09:06:50Z",
                            "MessageAttributes": {}}} for m in messages]
        return {"Records": records}

    def scheduled(self) -> dict[str, Any]:
        return {"version": "0", "id": self.fresh_id(), "detail-type": "Scheduled Event", "source": "aws.events",
                "account": "111122223333", "time": "2026-11-27T10:00:00Z", "region": "us-east-1",
                "resources": ["arn:aws:events:us-east-1:111122223333:rule/sweep"], "detail": {}}

    def alarm_notification(self) -> dict[str, Any]:
        return {"AlarmName": "checkout-api-5xx", "AlarmDescription": "5xx", "AWSAccountId": "111122223333",
                "NewStateValue": "ALARM", "NewStateReason": "Threshold Crossed",
                "StateChangeTime": "2026-11-27T16:01:10.190+0000", "Region": "US East (N. Virginia)",
                "AlarmArn": "arn:aws:cloudwatch:us-east-1:111122223333:alarm:checkout-api-5xx",
                "OldStateValue": "OK", "Trigger": {"MetricName": "5XXError"}}

    def base(self, source: str) -> Any:
        if source == "scheduled":
            return self.scheduled()
        if source == "alarm-sns":
            return self.alarm_notification()
        return copy.deepcopy(self.rng.choice(SAMPLES[source]))

    def one(self, function: str) -> Any:
        """One hostile input for `function`: mostly a mutated real input, sometimes anything at all."""
        rng = self.rng
        pick = rng.random()
        source = rng.choice(SOURCES[function])
        if pick < 0.08:
            return self.json()
        if pick < 0.14:  # another function's input
            return self.mutate(self.base(rng.choice([s for f in SOURCES.values() for s in f])), rng.choice([0, 1]))
        doc = self.base(source)
        if isinstance(doc, dict) and "id" in doc and source != "scheduled":
            doc["id"] = self.fresh_id()
        sns_wrapped = source in ("alarm-sns",) or (source == "approval-sns" and "Records" not in doc)
        if sns_wrapped:
            message = self.mutate(doc, rng.choice([0, 1, 1, 2]))
            batch = [message] + [self.mutate(self.base(source), rng.choice([0, 1])) for _ in range(rng.randint(0, 2))]
            rng.shuffle(batch)
            if rng.random() < 0.1:
                batch.append(rng.choice(["not json", "{", json.dumps(self.json())]))
            return self.sns(batch)
        return self.mutate(doc, rng.choice([0, 1, 1, 1, 2, 3]))

    def inputs(self, function: str, count: int) -> Iterator[Any]:
        for _ in range(count):
            yield self.one(function)


# -- the run: every function fed its inputs in the embedded world, every outcome counted -----------------
SEED = 20261205
START = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
# The reasons a handler dead-letters an input with at once (warden.runtime.invocation). RefusedAlarm: an alarm
# message CloudWatch does not confirm (forged) or from an account Warden does not trust.
REASONS = ("InvalidEvent", "PermanentError", "RefusedAlarm", "IdempotencyValidationError", "IdempotencyKeyError")
# What a handler answers for a delivery it accepted and left alone: each one must say why (it is logged).
IGNORED = ("ignored", "unmapped", "duplicate", "late")
SWEEP_EVERY = 25  # the approval sweep runs after every 25 ApprovalTracker inputs, on what they stored


@dataclass
class Tally:
    """Counts of one run, per delivery (each record of an SNS batch on its own); `unhandled` lists the
    inputs whose invocation raised (Lambda would retry them, then dead-letter them without a reason)."""

    inputs: Counter[str] = field(default_factory=Counter)
    handled: Counter[str] = field(default_factory=Counter)
    dead_lettered: Counter[str] = field(default_factory=Counter)
    ignored: Counter[str] = field(default_factory=Counter)
    unhandled: list[dict[str, Any]] = field(default_factory=list)
    untold: list[dict[str, Any]] = field(default_factory=list)  # dead letters without a one-line known reason
    silent: list[dict[str, Any]] = field(default_factory=list)  # ignored without a reason

    @property
    def ok(self) -> bool:
        return not (self.unhandled or self.untold or self.silent)

    def report(self, top: int = 12) -> str:
        total = sum(self.inputs.values())
        lines = [f"fuzz: {total:,} inputs over {len(self.inputs)} functions "
                 f"({', '.join(f'{f} {n:,}' for f, n in self.inputs.items())})"]

        def section(title: str, counts: Counter[str] | int, extra: str = "") -> None:
            n = counts if isinstance(counts, int) else sum(counts.values())
            lines.append(f"  {title:<14}{n:>8,}{extra}")
            if isinstance(counts, Counter):
                for reason, count in counts.most_common(top):
                    lines.append(f"  {count:>22,}  {reason}")
                if len(counts) > top:
                    rest = sum(c for _, c in counts.most_common()[top:])
                    lines.append(f"  {rest:>22,}  ({len(counts) - top} other reasons)")

        section("handled", self.handled)
        section("dead-lettered", self.dead_lettered)
        section("ignored", self.ignored, f"  ({len(self.silent)} without a reason)")
        section("unhandled", len(self.unhandled))
        for one in self.unhandled[:top]:
            lines.append(f"      {one['function']} seed {one['seed']} #{one['index']} at {one['site']}: "
                         f"{one['error'][:160]}")
        sites = Counter(one["site"] for one in self.unhandled)
        if sites:
            lines.append(f"  unhandled at {len(sites)} sites: "
                         + ", ".join(f"{s} ({n})" for s, n in sites.most_common()))
        for one in self.untold[:top]:
            lines.append(f"  dead letter without a clear reason: {one}")
        for one in self.silent[:top]:
            lines.append(f"  ignored without a reason: {one}")
        return "\n".join(lines)


def group(reason: str) -> str:
    """A dead-letter reason without its particulars: `InvalidEvent: invalid <kind>`."""
    head = ": ".join(p.strip() for p in reason.split(": ")[:2])
    return re.sub(r"\[\d+\]", "[]", head.split(";")[0])[:110]


def deliveries_of(answer: Any) -> list[Any]:
    """What each delivery of an invocation came to, from the handler's answer."""
    if isinstance(answer, dict) and answer.get("status") == "handled" and isinstance(answer.get("results"), list):
        return answer["results"]  # RollbackTrigger
    return answer if isinstance(answer, list) else [answer]


def tally(tally_: Tally, function: str, answer: Any, where: dict[str, Any]) -> None:
    for one in deliveries_of(answer):
        status = one.get("status") if isinstance(one, dict) else None
        if status == "dead_lettered":
            tally_.dead_lettered[group(str(one.get("error")))] += 1
        elif status in IGNORED:
            reason = one.get("reason") if isinstance(one, dict) else None
            if not reason:
                tally_.silent.append({**where, "result": one})
            tally_.ignored[f"{function} {status}: {str(reason)[:90] if reason else '(no reason)'}"] += 1
        else:
            tally_.handled[f"{function} {status or 'done'}"] += 1


def _told(world: World, function: str, tally_: Tally, where: dict[str, Any]) -> None:
    """The dead letters `function` sent itself: each names a known reason, on one line."""
    sqs = world.client("sqs")
    url = next(u for u, f in world._dlqs.items() if f == function)
    for message in drain(sqs, url):
        attributes = message["MessageAttributes"]
        code = attributes["ErrorCode"]["StringValue"]
        reason = attributes["ErrorMessage"]["StringValue"]
        # Lambda's own dead letter ("200") is an unhandled input's, counted as unhandled.
        if code != "200" and (code not in REASONS or not reason.startswith(code) or "\n" in reason):
            tally_.untold.append({**where, "code": code, "reason": reason[:200]})


def run_function(function: str, count: int, seed: int, into: Tally | None = None) -> Tally:
    """`count` inputs for `function` from `seed`, invoked one after the other in one embedded world (with
    the demo's pipeline), the clock moving on ten minutes an input; the approval sweep runs between
    ApprovalTracker's inputs, on what they stored."""
    from tests.helpers import pipeline_world  # the embedded world is imported only for a run
    from warden_local.replay import Replayer
    from warden_local.world import World as _World

    out = into or Tally()
    fuzz = Fuzzer(seed)
    with _World() as world:
        replayer = Replayer(world)
        for call in pipeline_world():
            replayer._call(call, "world")
        for index, event in enumerate(fuzz.inputs(function, count)):
            where = {"function": function, "seed": seed, "index": index}
            world.set_time(START + timedelta(minutes=10 * index))
            out.inputs[function] += 1
            outcome = world.invoke(function, event)
            if outcome.error is not None:
                out.unhandled.append({**where, "site": outcome.site, "error": outcome.error})
            else:
                tally(out, function, outcome.result, where)
            if function == "ApprovalTracker" and index % SWEEP_EVERY == SWEEP_EVERY - 1:
                sweep = world.invoke("ApprovalEscalator", fuzz.scheduled())
                if sweep.error is not None:
                    out.unhandled.append({**where, "function": "ApprovalEscalator (sweep)", "site": sweep.site,
                                          "error": sweep.error})
                else:
                    tally(out, "ApprovalEscalator", sweep.result, where)
            if index % 50 == 49 or index == count - 1:
                for told in {function, "ApprovalEscalator"}:
                    _told(world, told, out, where)
    return out


def run(per_function: int, seed: int = SEED, functions: list[str] | None = None) -> Tally:
    """Every function (or those named), `per_function` inputs each; function i is fed from seed + i."""
    out = Tally()
    for index, function in enumerate(SOURCES):
        if functions is None or function in functions:
            run_function(function, per_function, seed + index, out)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="make fuzz", description=__doc__)
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--per-function", type=int, default=1950, help="inputs per function (default 1950)")
    parser.add_argument("--function", action="append", choices=list(SOURCES), help="only these functions")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    result = run(args.per_function, args.seed, args.function)
    print(result.report())
    print(f"  seed {args.seed}, {time.perf_counter() - started:.0f} s")
    return 0 if result.ok else 1


if __name__ == "__main__":
    sys.exit(main())
