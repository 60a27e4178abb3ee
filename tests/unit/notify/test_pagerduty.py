"""The Events API v2 client against a real HTTP server on 127.0.0.1."""

import pytest

from warden.notify.pagerduty import PagerDuty, PagerDutyRejected, PagerDutyUnavailable, routing_key_from_secret
from warden_local.pagerduty import PagerDutyServer


@pytest.fixture
def server():
    srv = PagerDutyServer().start()
    yield srv
    srv.stop()


def client(server, key="R0UTINGKEY", **kw):
    waits = []
    return PagerDuty(server.url, lambda: key, sleep=waits.append, **kw), waits


def test_trigger_and_resolve_share_the_dedup_key(server):
    pd, _ = client(server)
    answer = pd.trigger(dedup_key="k1", summary="payments-api failed", source="payments-api", severity="high",
                        component="Build", group="111122223333", custom_details={"Commit": "9b3e1f2"},
                        links={"Logs": "https://logs"})
    assert answer["status"] == "success" and answer["dedup_key"] == "k1"
    pd.resolve("k1")
    trigger, resolve = server.events
    assert trigger["payload"]["severity"] == "error"  # Warden's "high"
    assert trigger["links"] == [{"href": "https://logs", "text": "Logs"}]
    assert resolve == {"routing_key": "R0UTINGKEY", "event_action": "resolve", "dedup_key": "k1"}


def test_throttling_and_server_errors_are_retried_with_backoff(server):
    server.failures = [429, 503, 500]
    pd, waits = client(server)
    pd.resolve("k2")
    assert len(server.events) == 1
    assert waits == [0.5, 1.0, 2.0]


def test_gives_up_after_every_attempt_failed(server):
    server.failures = [500] * 10
    pd, waits = client(server, attempts=3)
    with pytest.raises(PagerDutyUnavailable, match="after 3 attempts: 500"):
        pd.resolve("k3")
    assert server.events == []


def test_a_400_is_not_retried_and_carries_the_api_error(server):
    pd, waits = client(server, key="")
    with pytest.raises(PagerDutyRejected, match="'routing_key' is missing or blank"):
        pd.resolve("k4")
    assert waits == []


def test_unreachable_endpoint_is_unavailable():
    pd = PagerDuty("http://127.0.0.1:9/v2/enqueue", lambda: "k", attempts=2, sleep=lambda s: None, timeout=1)
    with pytest.raises(PagerDutyUnavailable):
        pd.resolve("k5")


def test_routing_key_from_plain_or_json_secret():
    assert routing_key_from_secret(" abc \n") == "abc"
    assert routing_key_from_secret('{"routing_key": "xyz"}') == "xyz"


def test_the_secret_accepts_exactly_the_documented_shapes_with_a_clear_error_otherwise():
    from warden.notify.pagerduty import PagerDutyMisconfigured

    assert routing_key_from_secret('{"integration_key": " k1 "}') == "k1"
    assert routing_key_from_secret("0123456789") == "0123456789"  # a key of digits is a key, not JSON
    for bad, said in [(b"R0UT1NG", "binary"), (None, "SecretString"), ('["R0UT1NG"]', "JSON list"),
                      ('"R0UT1NG"', "JSON str"), ("{not json", "does not parse"), ('{"token": "x"}', "fields: token"),
                      ("two words", "neither"), ("", "neither")]:
        with pytest.raises(PagerDutyMisconfigured) as raised:
            routing_key_from_secret(bad)
        assert said in str(raised.value) and "R0UT1NG" not in str(raised.value), bad


def test_the_routing_key_is_cached_on_wardens_clock_and_a_refused_secret_is_not_cached():
    from datetime import UTC, datetime, timedelta

    from warden.core import clock
    from warden.notify.pagerduty import PagerDutyMisconfigured, RoutingKey

    secret = {"SecretString": "{}"}
    reads = []
    key = RoutingKey(lambda: reads.append(1) or dict(secret), max_age=300)
    start = datetime(2026, 11, 27, 9, tzinfo=UTC)
    try:
        clock.set_source(lambda: start)
        with pytest.raises(PagerDutyMisconfigured):
            key()
        secret["SecretString"] = '{"routing_key": "first"}'
        assert key() == "first" and len(reads) == 2  # the refused value was not kept
        secret["SecretString"] = "second"
        clock.set_source(lambda: start + timedelta(seconds=299))
        assert key() == "first" and len(reads) == 2  # within five minutes of story time
        clock.set_source(lambda: start + timedelta(seconds=300))
        assert key() == "second" and len(reads) == 3
    finally:
        clock.set_source(None)
