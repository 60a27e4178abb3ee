"""Settings validated at start-up, and the one handler contract (parse -> idempotency -> guard -> log)."""

import pytest

from warden.runtime.container import Container
from warden.runtime.invocation import Entry, Handled, response, scheduled
from warden.runtime.settings import AUDIENCE_ENV, Settings, SettingsError

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
    entry = Entry(made.pipeline, lambda: handled.append, idempotent=False)
    outcome = entry({"detail-type": "Something Else", "source": "aws.nothing"}, context=None)
    assert outcome.results == () and "unsupported event" in outcome.dead_lettered
    assert handled == [] and len(made.clients.sqs.sent) == 1
    assert response(outcome)["status"] == "dead_lettered"


def test_a_valid_delivery_is_handled_and_its_result_is_the_response():
    entry = Entry(container().pipeline, lambda: lambda event, delivery: {"status": "swept", "by": delivery},
                  parse=scheduled, idempotent=False, with_id=True)
    outcome = entry({"id": "sweep-1", "detail-type": "Scheduled Event"}, context=None)
    assert outcome == Handled(results=({"status": "swept", "by": "sweep-1"},))
    assert response(outcome) == {"status": "swept", "by": "sweep-1"}


def test_a_transient_failure_is_raised_for_lambda_to_retry():
    def boom(_event, _delivery):
        raise ConnectionError("SNS unreachable")

    entry = Entry(container().pipeline, lambda: boom, parse=scheduled, idempotent=False, with_id=True)
    with pytest.raises(ConnectionError):
        entry({"id": "sweep-1"}, context=None)


def test_a_function_needs_only_its_own_tables():
    """Each function is given only its own tables (template.yaml): it names those it cannot do without."""
    assert Settings.from_env({"LEDGER_TABLE": "ledger"}, required=("LEDGER_TABLE",)).ledger_table == "ledger"
    with pytest.raises(SettingsError, match="IDEMPOTENCY_TABLE"):
        Settings.from_env({"STATE_TABLE": "state"}, required=("STATE_TABLE", "IDEMPOTENCY_TABLE"))


def test_every_function_of_the_template_is_wired_and_starts_with_the_environment_the_template_gives_it():
    """Given template.yaml's functions, when each one's settings are read from its own Environment, then each
    is wired in warden.runtime.container, every variable it needs is set there, and every variable the
    template sets is a setting (read in warden.runtime.settings, checked at start) or powertools' or pydantic's
    own (read by the library: POWERTOOLS_LOG_LEVEL, PYDANTIC_DISABLE_PLUGINS)."""
    from warden.runtime.container import FUNCTIONS
    from warden.runtime.settings import NEEDS
    from warden_local.template import default_template

    functions = default_template().functions
    read = set(AUDIENCE_ENV.values())
    for field in Settings.model_fields.values():
        read |= set(getattr(field.validation_alias, "choices", ()))
    assert set(FUNCTIONS) == set(NEEDS) == set(functions)
    for name, fn in functions.items():
        env = {key: "x" if not isinstance(value, str | int) else str(value) for key, value in fn.environment.items()}
        assert not [need for need in NEEDS[name] if need not in env], name
        Settings.of(name, env)  # no SettingsError
        unknown = [key for key in env if not key.startswith(("POWERTOOLS_", "PYDANTIC_")) and key not in read]
        assert unknown == [], f"{name}: not read by warden.runtime.settings: {unknown}"


def test_a_function_missing_one_of_its_tables_fails_its_start_naming_it():
    with pytest.raises(SettingsError, match="IDEMPOTENCY_TABLE"):
        Settings.of("RollbackTrigger", {"STATE_TABLE": "s", "LEDGER_TABLE": "l"})
    assert Settings.of("DeploymentTracker", {"LEDGER_TABLE": "l"}).ledger_table == "l"


def test_rollback_and_hook_settings_are_checked_at_start():
    """Given the variables that RollbackTrigger and DeploymentValidationHook read, they are typed at start: a
    hook attempt count that is not a positive number fails the start instead of the first lifecycle event."""
    settings = Settings.of("RollbackTrigger", TABLES | {"TRUSTED_ACCOUNT_IDS": " 444455556666, ,777788889999",
                                                        "ORGANIZATION_ID": "o-abc", "WORKLOAD_DEPLOY_ROLE_NAME": "r"})
    assert settings.trusted_accounts == ("444455556666", "777788889999")
    assert (settings.organization_id, settings.workload_deploy_role_name, settings.hook_attempts) == ("o-abc", "r", 3)
    assert Settings.of("DeploymentValidationHook", {"STATE_TABLE": "s", "HOOK_ATTEMPTS": "5"}).hook_attempts == 5
    for bad in ("zero", "0"):
        with pytest.raises(SettingsError, match="HOOK_ATTEMPTS"):
            Settings.of("DeploymentValidationHook", {"STATE_TABLE": "s", "HOOK_ATTEMPTS": bad})
