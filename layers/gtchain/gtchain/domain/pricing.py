"""The one cost function: what a labeling job costs, from its counters and its configuration.

Ground Truth charges a fee per labeled object (human or machine) and, for paid workforces, each
worker's task price per human-labeled object. Managed training and inference instances used by
auto-labeling are billed separately and are not included.
"""

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")


@dataclass(frozen=True)
class JobPricing:
    fee_per_object_usd: Decimal
    workers_per_object: int
    task_price_usd: Decimal | None  # None: the workforce's price is unknown (vendor without a price)

    @property
    def human_object_usd(self) -> Decimal | None:
        if self.task_price_usd is None:
            return None
        return self.fee_per_object_usd + self.workers_per_object * self.task_price_usd

    def cost(self, human: int, machine: int) -> "JobCost":
        machine_usd = machine * self.fee_per_object_usd
        per_human = self.human_object_usd
        human_usd = None if per_human is None else human * per_human
        return JobCost(
            human_usd=human_usd,
            machine_usd=machine_usd,
            total_usd=None if human_usd is None else human_usd + machine_usd,
            labeled=human + machine,
            all_human_usd=None if per_human is None else (human + machine) * per_human,
            human_fees_usd=human * self.fee_per_object_usd,
        )

    def worst_case_usd(self, objects: int) -> Decimal:
        """Every object labeled by humans. With an unknown task price only the fees can be bounded."""
        return objects * (self.human_object_usd or self.fee_per_object_usd)


@dataclass(frozen=True)
class JobCost:
    human_usd: Decimal | None
    machine_usd: Decimal
    total_usd: Decimal | None
    labeled: int
    all_human_usd: Decimal | None  # what the same objects would cost labeled by humans only
    human_fees_usd: Decimal  # the part of human_usd that is known even when the task price is not

    @property
    def savings_usd(self) -> Decimal | None:
        if self.all_human_usd is None or self.total_usd is None:
            return None
        return self.all_human_usd - self.total_usd

    @property
    def known_usd(self) -> Decimal:
        """A lower bound that is always known: the total, or the fees when worker pay is unknown."""
        return self.total_usd if self.total_usd is not None else self.human_fees_usd + self.machine_usd


def to_cents(amount: Decimal) -> Decimal:
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


def cents_or_none(amount: Decimal | None) -> Decimal | None:
    """Cents for an amount that may be unknown (a vendor's task price nobody gave): unknown stays None."""
    return None if amount is None else to_cents(amount)
