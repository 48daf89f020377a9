"""The publisher's contract, as a subscriber sees it: the fake, and EventBridge and SNS (moto) delivering to
queues."""

from decimal import Decimal

from tests.calls import counting
from tests.contract.conftest import PublisherHarness


def test_events_arrive_in_order_as_json(publisher: PublisherHarness) -> None:
    publisher.publisher.publish("Round Started", {"chainId": "birds", "round": 1, "costUsd": Decimal("1.88")})
    publisher.publisher.publish("Round Completed", {"chainId": "birds", "round": 1, "labelCounters": {"human": 3}})

    assert publisher.published() == [
        ("Round Started", {"chainId": "birds", "round": 1, "costUsd": "1.88"}),
        ("Round Completed", {"chainId": "birds", "round": 1, "labelCounters": {"human": 3}}),
    ]
    assert publisher.published() == []  # each event once


def test_notifications_arrive_with_the_subject_cut_to_100_characters(publisher: PublisherHarness) -> None:
    publisher.publisher.notify("gtchain: " + "x" * 120, "line one\nline two")
    [(subject, message)] = publisher.notified()
    assert subject == ("gtchain: " + "x" * 120)[:100] and message == "line one\nline two"


def test_a_batch_delivers_every_event_once_and_a_batch_inside_it_its_own(publisher: PublisherHarness) -> None:
    p = publisher.publisher
    with counting() as calls, p.batch():
        for number in range(12):
            p.publish("Round Started", {"chainId": "birds", "round": number})
        with p.batch():  # another invocation's, run inside this one (as the emulator and the tests may)
            p.publish("Round Completed", {"chainId": "cats", "round": 1})
        during = publisher.published()
    delivered = during + publisher.published()
    assert sorted(delivered, key=lambda e: e[1]["chainId"]) == [
        *(("Round Started", {"chainId": "birds", "round": number}) for number in range(12)),
        ("Round Completed", {"chainId": "cats", "round": 1}),
    ]
    if publisher.side == "moto":  # EventBridge: the outer batch at its end, ten to a request
        assert during == [("Round Completed", {"chainId": "cats", "round": 1})]
        assert calls["events.PutEvents"] == 3, str(calls)
