"""Which stage is production: the configuration, else the pipeline's last stage read where it lives."""

from tests.unit.fakes import gateway
from warden.ledger.config import LedgerConfig
from warden.ledger.recorder import ProductionStages

OWN, ELSEWHERE = "111122223333", "us-east-2"


def test_given_no_configuration_then_the_last_stage_read_in_the_pipelines_region_is_production():
    reads = gateway()
    fake = reads.in_(OWN, ELSEWHERE)
    fake.pipelines["payments-api"] = {"stages": [{"name": "Source"}, {"name": "Build"}, {"name": "Prod"}]}
    stages = ProductionStages(LedgerConfig, reads)
    assert stages.is_production(OWN, ELSEWHERE, "payments-api", "Prod")
    assert not stages.is_production(OWN, ELSEWHERE, "payments-api", "Build")
    assert fake.calls == 1  # cached for the container


def test_given_the_pipeline_cannot_be_read_then_no_stage_is_production_and_it_is_asked_again():
    reads = gateway()
    fake = reads.in_(OWN, ELSEWHERE)
    fake.pipelines["payments-api"] = {"stages": [{"name": "Source"}, {"name": "Prod"}]}
    fake.fail_with = "ThrottlingException"
    stages = ProductionStages(LedgerConfig, reads)
    assert stages.stages(OWN, ELSEWHERE, "payments-api") == []
    fake.fail_with = None
    assert stages.stages(OWN, ELSEWHERE, "payments-api") == ["Source", "Prod"]


def test_given_a_configuration_then_it_names_production_without_asking():
    reads = gateway()
    config = LedgerConfig.model_validate({"production": [{"pipelines": ["payments-*"], "stages": ["Deploy-Prod*"]}]})
    stages = ProductionStages(lambda: config, reads)
    assert stages.is_production(OWN, ELSEWHERE, "payments-api", "Deploy-Prod-EU")
    assert reads.fakes == {}
