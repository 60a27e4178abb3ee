"""Collaborators only some events use are built on their first use (warden.core.lazy): a cold start that does
not use them neither imports nor builds them, and one that does gets the same object as before."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from warden.core.lazy import Later

ROOT = Path(__file__).resolve().parents[3]
# Each script below: a fresh interpreter wiring one function as at its cold start, with a `Session` of its own.
WIRING = """
import json, sys
from warden.aws.clients import Clients
from warden.runtime.container import Container
from warden.runtime.settings import Settings
"""
WIRED = """
env = {"LEDGER_TABLE": "l", "STATE_TABLE": "s", "IDEMPOTENCY_TABLE": "i", "DEAD_LETTER_QUEUE_URL": "https://q"}
container = Container(clients=Clients(Session()), settings=Settings.from_env(env))
"""


def _run(session: str, body: str) -> dict:
    done = subprocess.run([sys.executable, "-c", WIRING + session + WIRED + body], capture_output=True, text=True,
                          cwd=ROOT)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.splitlines()[-1])

NO_CLIENT = """
class Session:
    def client(self, service, **kwargs):
        raise AssertionError("no client is made while wiring")
"""
WIRE_THE_ROUTER = """
router = container.notification_router
before = sorted(m for m in sys.modules if m.startswith("warden."))
store, marks = router._releases._triggers, router._marks
assert callable(store.trigger) and callable(marks.get)  # looked up, not called: no AWS call
after = sorted(m for m in sys.modules if m.startswith("warden."))
print(json.dumps({"before": before, "after": after, "built": [type(store._made).__name__, type(marks._made).__name__]}))
"""


def test_the_router_wired_imports_neither_the_approval_store_nor_the_rollback_marks():
    # Given a fresh interpreter, when NotificationRouter is wired (as at its cold start)
    seen = _run(NO_CLIENT, WIRE_THE_ROUTER)
    # Then the approval store (read by a page's release lookup) and the rollback marks (read for stops and
    # rollbacks) are not imported yet; the first use of either builds it
    assert "warden.approvals.store" not in seen["before"] and "warden.rollback.state" not in seen["before"]
    assert {"warden.approvals.store", "warden.rollback.state"} <= set(seen["after"])
    assert seen["built"] == ["Approvals", "RollbackMarks"]


def test_later_builds_once_on_first_use_and_is_the_built_objects_every_attribute():
    # Given a collaborator that counts its constructions
    made = []

    class Store:
        def __init__(self) -> None:
            made.append(1)
            self.table = "state"

        def get(self, key: str) -> str:
            return f"{self.table}:{key}"

    later = Later(Store)
    # When nothing was asked of it, then nothing was built
    assert made == []
    # When it is used twice, then it was built once and answers as the object does
    assert later.get("a") == "state:a" and later.table == "state" and made == [1]
    assert later is not None and "Store" in repr(later)


ADMIT_AN_ALARM = """
from pathlib import Path
from warden.models import parse_event
from warden.rollback.inputs import RollbackInputs
inputs = RollbackInputs(lambda: container.rollback_trigger, region="us-east-1")
event = json.loads(Path("events/cloudwatch/alarm-5xx-alarm.json").read_text())
item = inputs.prepare(parse_event(event))
skipped = inputs.skip(item)
before = sorted(m for m in sys.modules if m.startswith("warden."))
trigger = container.rollback_trigger
used = [trigger._notifier.deliver, trigger._ledger.history, trigger._state.get, trigger._notes.add,
        trigger._incidents.open, trigger._releases.fill, trigger._marks.mark]  # looked up: each built, no AWS call
after = sorted(m for m in sys.modules if m.startswith("warden."))
print(json.dumps({"skipped": skipped, "before": before, "after": after,
                  "built": [type(method.__self__).__name__ for method in used]}))
"""


def test_an_alarm_is_admitted_without_building_what_acting_on_a_target_needs():
    # Given a fresh interpreter, when RollbackTrigger is wired and admits an alarm into ALARM (as at its cold start)
    seen = _run(NO_CLIENT, ADMIT_AN_ALARM)
    assert seen["skipped"] is None  # admitted: it goes on to be claimed and mapped
    # Then neither the notifier, the notices, the ledger, the rollback state, incidents nor releases were imported,
    # and no CodePipeline or CodeDeploy model was imported to tell that the alarm is neither of their events
    deferred = {"warden.notify.notifier", "warden.notify.notice", "warden.notify.incidents", "warden.notify.release",
                "warden.ledger.view", "warden.ledger.notes", "warden.rollback.state"}
    assert deferred.isdisjoint(seen["before"])
    assert {"warden.models.codepipeline", "warden.models.codedeploy"}.isdisjoint(seen["before"])
    # And the first use of each builds what was wired before
    assert deferred <= set(seen["after"])
    assert seen["built"] == ["Notifier", "LedgerReader", "RollbackState", "LedgerNotes", "Incidents", "Releases",
                             "RollbackMarks"]


UNCALLED_CLIENTS = """
class Session:
    def client(self, service, **kwargs):
        return object()  # made, never called while wiring

    def get_partition_for_region(self, region):
        return "aws"
"""
WIRE_THE_GATE = """
gate = container.deployment_gate
before = sorted(m for m in sys.modules if m.startswith("warden."))
deliver = gate._notifier.deliver  # looked up, not called
print(json.dumps({"before": before, "built": type(deliver.__self__).__name__}))
"""


def test_the_deployment_gate_wired_builds_no_notifier_and_imports_no_notice_until_it_tells():
    # Given a fresh interpreter, when DeploymentGate is wired (as at its cold start)
    seen = _run(UNCALLED_CLIENTS, WIRE_THE_GATE)
    # Then the notifier, the notices (and the event models they name) and the routing rules are not imported: an
    # answer that tells nothing (most of them) never needs them
    assert {"warden.notify.notifier", "warden.notify.notice", "warden.notify.rules",
            "warden.models.codepipeline"}.isdisjoint(seen["before"])
    # And the first use of the notifier builds it
    assert seen["built"] == "Notifier"
