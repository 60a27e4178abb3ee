"""Clients: a shared client is created on its first call, once per (service, region), so a cold start pays
only for the clients its event uses (creating one loads its service model: tens of milliseconds)."""

from types import SimpleNamespace

from warden.aws.clients import Clients
from warden.runtime.container import Container
from warden.runtime.settings import Settings


class CountingSession:
    """A boto3 session that says which clients were created."""

    region_name = "us-east-1"

    def __init__(self) -> None:
        self.made: list[tuple[str, str | None]] = []

    def client(self, service, region_name=None, config=None):
        self.made.append((service, region_name))
        return SimpleNamespace(service=service, region=region_name, publish=lambda **kw: {"MessageId": "m-1"})

    def get_partition_for_region(self, region):
        return "aws"


def test_given_wired_clients_when_nothing_calls_them_then_none_is_created():
    session = CountingSession()
    clients = Clients(session)
    wired = [clients.sns, clients.dynamodb, clients.codedeploy, clients.lazy("cloudwatch"),
             clients.lazy("s3", "eu-west-1")]
    assert len(wired) == 5 and session.made == []


def test_given_a_shared_client_when_it_is_called_twice_then_it_was_created_once_and_is_the_same_client():
    session = CountingSession()
    clients = Clients(session)
    publisher = clients.sns
    assert publisher.publish(TopicArn="t", Message="m") == {"MessageId": "m-1"}
    assert clients.sns.publish(TopicArn="t", Message="n") == {"MessageId": "m-1"}
    assert session.made == [("sns", None)]
    assert clients.sns is clients.lazy("sns") and clients.lazy("s3", "eu-west-1") is not clients.lazy("s3")


def test_given_the_validation_hook_wired_when_no_event_arrived_then_no_client_exists():
    session = CountingSession()
    env = {"LEDGER_TABLE": "l", "STATE_TABLE": "s", "IDEMPOTENCY_TABLE": "i", "DEAD_LETTER_QUEUE_URL": "https://q"}
    container = Container(clients=Clients(session), settings=Settings.from_env(env))
    assert container.validation_hook is not None and container.artifact_guard is not None
    assert session.made == []  # CloudWatch, tagging, DynamoDB, S3: each made by the first call that needs it
