from decimal import Decimal

from gtchain.domain.labeling_job import task_price_usd
from gtchain.domain.labeling_request import _amount_in_usd
from gtchain.domain.pricing import JobPricing, to_cents


def test_the_notebooks_human_label_costs_0_188_with_its_three_workers_not_0_26() -> None:
    pricing = JobPricing(Decimal("0.08"), 3, Decimal("0.036"))
    assert pricing.human_object_usd == Decimal("0.188")
    cost = pricing.cost(human=10, machine=5)
    assert (cost.human_usd, cost.machine_usd, cost.total_usd) == (Decimal("1.880"), Decimal("0.40"), Decimal("2.280"))
    assert cost.all_human_usd == Decimal("2.820") and cost.savings_usd == Decimal("0.540")


def test_an_unknown_task_price_leaves_human_cost_unknown_not_zero() -> None:
    cost = JobPricing(Decimal("0.08"), 3, None).cost(human=10, machine=5)
    assert cost.human_usd is None and cost.total_usd is None and cost.savings_usd is None
    assert cost.known_usd == Decimal("1.20")  # the fees are still known


def test_worst_case_is_every_object_labeled_by_humans() -> None:
    assert JobPricing(Decimal("0.08"), 3, Decimal("0.036")).worst_case_usd(1250) == Decimal("235.000")
    assert JobPricing(Decimal("0.08"), 1, Decimal(0)).worst_case_usd(10) == Decimal("0.80")


def test_rounding_is_half_up_to_cents() -> None:
    assert to_cents(Decimal("0.125")) == Decimal("0.13") and to_cents(Decimal("0.124")) == Decimal("0.12")


def test_task_prices_round_trip_through_the_api_shape() -> None:
    for price in ("0.012", "0.036", "1.200", "0.840"):
        amount = _amount_in_usd(Decimal(price))
        assert task_price_usd({"PublicWorkforceTaskPrice": {"AmountInUsd": amount}}) == Decimal(price)
