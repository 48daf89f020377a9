"""The publisher's contract, as a subscriber sees it: the fake, and EventBridge and SNS (moto) delivering to
queues."""

from decimal import Decimal

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
