"""Which open incident freezes production (warden.freeze.gate._about), on the record an incident keeps of where
it failed (warden.notify.incidents). Given / When / Then."""

import pytest

from warden.freeze.config import FreezeConfig
from warden.freeze.gate import _about

CONFIG = FreezeConfig(production_stages=["Deploy-Prod", "Prod*"])


def incident(*, stages=(), unknown=(), deployments=(), recorded=True):
    return {"opened_at": "2026-12-28T10:05:00Z", "summary": "payments-api failed", "recorded": recorded,
            "failed_stages": frozenset(stages), "stage_unknown": frozenset(unknown),
            "deployments_failed": frozenset(deployments)}


@pytest.mark.parametrize(("record", "freezes", "says"), [
    (incident(stages={"Build"}), False, "failed only in Build, not a production stage"),
    (incident(stages={"Build", "UnitTests"}), False, "failed only in Build, UnitTests, not a production stage"),
    (incident(stages={"Deploy-Prod"}), True, "failed in production stage Deploy-Prod"),
    (incident(stages={"Build", "Prod-EU", "Deploy-Prod"}), True,
     "failed in production stages Deploy-Prod, Prod-EU; also failed in Build"),
    (incident(deployments={"d-1"}), True, "a deployment failed or was rolled back"),
    (incident(stages={"Build"}, unknown={"x1"}), True,
     "the failing stage is unknown for execution x1 (only its pipeline FAILED was heard, and CodePipeline could "
     "not say where); also failed in Build"),
    (incident(recorded=False, stages={"Build"}), True,
     "the failing stage is unknown (the incident was opened before Warden recorded failing stages); also failed "
     "in Build"),
    (incident(), True, "the failing stage is unknown (only its pipeline FAILED was heard"),
])
def test_an_incident_freezes_production_only_when_it_is_about_production_or_unknown(record, freezes, says):
    found, text = _about(CONFIG, record)
    assert found is freezes
    assert text.startswith(says)
