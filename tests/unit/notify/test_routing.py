import pytest

from warden.notify.rules import RoutingConfig, decide
from warden.runtime.documents import ConfigError, parse_document, parse_documents


def test_defaults_page_failures_and_inform_the_team_of_the_rest():
    config = RoutingConfig()
    assert decide(config, event="pipeline.failed", pipeline="x").audiences[0] == "oncall"
    assert decide(config, event="pipeline.failed").severity == "critical"
    assert decide(config, event="deployment.rolled_back").severity == "critical"
    assert "approvers" in decide(config, event="approval.needed").audiences
    assert "oncall" not in decide(config, event="pipeline.succeeded").audiences
    assert "team" in decide(config, event="pipeline.started").audiences
    for quiet in ("pipeline.stopped", "pipeline.superseded"):
        decision = decide(config, event=quiet)
        assert "oncall" not in decision.audiences and decision.severity == "info"


def test_first_matching_rule_decides_and_inherits_what_it_leaves_unset():
    config = parse_document("routing", {"rules": [
        {"name": "sandbox-quiet", "match": {"pipelines": ["sandbox-*"]}, "mute": True},
        {"name": "prod-deploy", "match": {"pipelines": ["payments-*"], "events": ["stage.failed"],
                                          "stages": ["Deploy-*"]},
         "severity": "high", "runbook": "https://runbooks.example.com/payments"},
        {"name": "never-reached", "match": {"pipelines": ["payments-*"]}, "audiences": ["team"]},
    ]})
    assert decide(config, event="pipeline.failed", pipeline="sandbox-1").muted
    prod = decide(config, event="stage.failed", pipeline="payments-api", stage="Deploy-Prod")
    assert (prod.rule, prod.severity, prod.audiences[0]) == ("prod-deploy", "high", "oncall")
    assert prod.runbook == "https://runbooks.example.com/payments"
    build = decide(config, event="stage.failed", pipeline="payments-api", stage="Build")
    assert (build.rule, build.audiences) == ("never-reached", ("team",))
    other = decide(config, event="stage.failed", pipeline="orders", stage="Build")
    assert other.rule == "default"


def test_states_and_accounts_narrow_a_rule():
    config = parse_document("routing", {"rules": [
        {"name": "acct", "match": {"accounts": ["222233334444"], "states": ["failed"]}, "severity": "warning"}]})
    assert decide(config, event="pipeline.failed", state="FAILED", account="222233334444").rule == "acct"
    assert decide(config, event="pipeline.failed", state="FAILED", account="111122223333").rule == "default"


@pytest.mark.parametrize(("doc", "expected"), [
    ({"rules": [{"name": "a", "match": {"pipelnes": ["x"]}}]}, "routing.rules[0] (name 'a').match.pipelnes"),
    ({"rules": [{"name": "a"}, {"name": "b", "severity": "loud"}]}, "routing.rules[1] (name 'b').severity"),
    ({"rules": [{"name": "a", "audiences": ["pager"]}]}, "routing.rules[0] (name 'a').audiences[0]"),
    ({"rules": [{"match": {}}]}, "routing.rules[0].name"),
    ({"rules": [{"name": "a", "match": {"events": ["pipeline.exploded"]}}]},
     "routing.rules[0] (name 'a').match.events[0]"),
])
def test_invalid_routing_names_the_rule_and_field(doc, expected):
    with pytest.raises(ConfigError) as err:
        parse_document("routing", doc)
    assert expected in str(err.value)


def test_unknown_document_kind_is_an_error():
    with pytest.raises(ConfigError, match="unknown configuration document 'routnig'"):
        parse_documents({"routnig": {}})


def test_slow_thresholds_default_to_30_minutes_and_are_per_pipeline():
    assert RoutingConfig().slow_after("anything") == 30
    config = parse_document("routing", {"slow_after_minutes": 40, "slow_executions": [
        {"pipelines": ["data-*"], "minutes": 120}, {"pipelines": ["hotfix-*"], "minutes": 10}]})
    assert (config.slow_after("data-etl"), config.slow_after("hotfix-api"), config.slow_after("web")) == (120, 10, 40)
    assert config.earliest_slow() == 10  # the sweep reads back to the shortest threshold
    slow = decide(config, event="pipeline.slow", pipeline="web")
    assert (slow.audiences, slow.severity) == (("team",), "warning")


def test_a_threshold_of_zero_or_a_misspelt_key_is_an_error():
    with pytest.raises(ConfigError, match="slow_executions\\[0\\].minutes"):
        parse_document("routing", {"slow_executions": [{"pipelines": ["x"], "minutes": 0}]})
    with pytest.raises(ConfigError, match="slow_after_minute"):
        parse_document("routing", {"slow_after_minute": 30})
