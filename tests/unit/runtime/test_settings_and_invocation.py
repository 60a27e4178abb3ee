"""Settings validated at start-up, and the one handler contract (parse -> idempotency -> guard -> log)."""

import pytest

from warden.runtime.container import Container, Outcome
from warden.runtime.invocation import Entry, response, scheduled
from warden.runtime.settings import Settings, SettingsError

TABLES = {"LEDGER_TABLE": "ledger", "STATE_TABLE": "state", "IDEMPOTENCY_TABLE": "idempotency"}


def test_a_missing_table_fails_the_start_up_naming_it():
    with pytest.raises(SettingsError, match="STATE_TABLE"):
        Settings.from_env({k: v for k, v in TABLES.items() if k != "STATE_TABLE"})
    with pytest.raises(SettingsError, match="LEDGER_TABLE"):
        Settings.from_env(TABLES | {"LEDGER_TABLE": ""})


def test_settings_read_the_environment_template_yaml_sets():
    settings = Settings.from_env(TABLES | {"AWS_REGION": "", "AWS_DEFAULT_REGION": "us-east-2",
                                           "ONCALL_TOPIC_ARN": "arn:oncall", "WARDEN_CONFIG_PREFIX": "/w/"})
    assert (settings.region, settings.topics, settings.config_prefix) == ("us-east-2", {"oncall": "arn:oncall"}, "/w")


class FakeSqs:
    def __init__(self):
        self.sent = []

    def send_message(self, **message):
        self.sent.append(message)


class FakeClients:
    def __init__(self):
        self.sqs = FakeSqs()


def container(dlq="https://sqs/dlq"):
    return Container(clients=FakeClients(), settings=Settings.from_env(TABLES | {"DEAD_LETTER_QUEUE_URL": dlq}))


def test_an_invalid_input_is_dead_lettered_once_and_the_outcome_says_so():
    made = container()
    handled = []
    entry = Entry(made, lambda: handled.append, idempotent=False)
    outcome = entry({"detail-type": "Something Else", "source": "aws.nothing"}, context=None)
    assert outcome.results == () and "unsupported event" in outcome.dead_lettered
    assert handled == [] and len(made.clients.sqs.sent) == 1
    assert response(outcome)["status"] == "dead_lettered"


def test_a_valid_delivery_is_handled_and_its_result_is_the_response():
    entry = Entry(container(), lambda: lambda event, delivery: {"status": "swept", "by": delivery},
                  parse=scheduled, idempotent=False, with_id=True)
    outcome = entry({"id": "sweep-1", "detail-type": "Scheduled Event"}, context=None)
    assert outcome == Outcome(results=({"status": "swept", "by": "sweep-1"},))
    assert response(outcome) == {"status": "swept", "by": "sweep-1"}


def test_a_transient_failure_is_raised_for_lambda_to_retry():
    def boom(_event, _delivery):
        raise ConnectionError("SNS unreachable")

    entry = Entry(container(), lambda: boom, parse=scheduled, idempotent=False, with_id=True)
    with pytest.raises(ConnectionError):
        entry({"id": "sweep-1"}, context=None)


def test_a_function_needs_only_its_own_tables():
    """Each function is given only its own tables (template.yaml): it names those it cannot do without."""
    assert Settings.from_env({"LEDGER_TABLE": "ledger"}, required=("LEDGER_TABLE",)).ledger_table == "ledger"
    with pytest.raises(SettingsError, match="IDEMPOTENCY_TABLE"):
        Settings.from_env({"STATE_TABLE": "state"}, required=("STATE_TABLE", "IDEMPOTENCY_TABLE"))
