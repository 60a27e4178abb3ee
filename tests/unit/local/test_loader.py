import boto3
import botocore.session

from warden_local import fakes


def test_sessions_of_the_embedded_world_share_one_loader_and_nothing_else():
    fakes.install()
    first, second = boto3.session.Session(region_name="us-east-1"), boto3.session.Session(region_name="eu-west-1")
    loader = first._session.get_component("data_loader")
    assert loader is second._session.get_component("data_loader")
    assert first.client("sns").meta.region_name == "us-east-1"
    assert second.client("sns").meta.region_name == "eu-west-1"
    assert first._session.get_component("event_emitter") is not second._session.get_component("event_emitter")
    assert loader is botocore.session.Session().get_component("data_loader")
