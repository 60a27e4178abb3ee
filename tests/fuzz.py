"""Hostile inputs for every handler, from a seed: real samples mutated (fields dropped, wrong types, huge
and invisible strings, nested garbage), wrapped in the envelopes each function receives, and plain
random JSON. The same seed gives the same inputs, so a failure is reproduced by its seed and index."""

from __future__ import annotations

import copy
import json
import random
import uuid
from collections.abc import Iterator
from typing import Any

from tests.helpers import EVENTS

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
    "x" * 5000, "é" * 300, "😀" * 50, "<script>", "<!channel>", "@here", "[x](https://evil.example)",
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
