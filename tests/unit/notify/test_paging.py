"""Whether paging works (warden.notify.paging): the team is told once per change of reason."""

from moto import mock_aws

from tests.unit.fakes import keyed_table
from warden.notify.paging import PagingHealth


@mock_aws
def test_a_refusal_is_news_once_per_reason_and_again_after_paging_worked():
    paging = PagingHealth(keyed_table("state"), "state")
    # Given paging refused for a reason, When it is refused again for it, Then that is no news
    assert paging.refused("PagerDutyMisconfigured: no routing_key") is True
    assert paging.refused("PagerDutyMisconfigured: no routing_key") is False
    # When the reason changes, Then it is news again
    assert paging.refused("PagerDutyRejected: (400) invalid routing key") is True
    # When a page was accepted in between, Then the same reason is news again
    paging.works()
    assert paging.refused("PagerDutyRejected: (400) invalid routing key") is True
    # And a notice that did not go out gives its reason back
    paging.forget("PagerDutyRejected: (400) invalid routing key")
    assert paging.refused("PagerDutyRejected: (400) invalid routing key") is True
