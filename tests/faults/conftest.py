import botocore.retries.standard
import pytest

from tests.faults.inject import install


@pytest.fixture
def faults(monkeypatch):
    """Injected faults, with botocore's and the PagerDuty client's backoff waits cut to nothing (their
    retries still run, just without sleeping) so that a run of failures costs milliseconds."""
    monkeypatch.setattr(botocore.retries.standard.ExponentialBackoff, "delay_amount", lambda self, context: 0)
    monkeypatch.setenv("PAGERDUTY_BACKOFF_SECONDS", "0")
    injected = install()
    injected.clear()
    yield injected
    injected.clear()
