"""The chain's index of object identities: every object of every round queued so far, as 20-byte records (the
object's 16-byte source digest, then its round number as a 4-byte big-endian integer), in round order and, within
a round, in the part's order.

Each queued manifest writes a new index (the previous one plus its parts) under a new key, and its rounds name
that object as their digests: a round's digests are its records there. One read tells a round that starts which
earlier rounds share objects with it (service.dedupe), and a manifest queued into a chain knows which of its
parts overlap earlier rounds without reading them one by one.
"""

from collections.abc import Iterable, Iterator, Sequence

DIGEST_SIZE = 16
RECORD_SIZE = DIGEST_SIZE + 4


def records(parts: Sequence[Sequence[bytes]], first_round: int) -> bytes:
    """The records of a manifest's parts, queued as rounds first_round, first_round + 1, ..."""
    return b"".join(
        digest + (first_round + index).to_bytes(4, "big") for index, part in enumerate(parts) for digest in part
    )


def entries(index: bytes) -> Iterator[tuple[bytes, int]]:
    for start in range(0, len(index), RECORD_SIZE):
        record = index[start : start + RECORD_SIZE]
        yield record[:DIGEST_SIZE], int.from_bytes(record[DIGEST_SIZE:], "big")


def round_digests(index: bytes, number: int) -> bytes:
    """The round's digests, concatenated in its part's order."""
    return b"".join(digest for digest, round_number in entries(index) if round_number == number)


def overlaps(index: bytes, parts: Iterable[Sequence[bytes]]) -> list[list[int]]:
    """Per part, the earlier rounds in the index that hold at least one of its objects (sorted)."""
    rounds_of: dict[bytes, set[int]] = {}
    for digest, number in entries(index):
        rounds_of.setdefault(digest, set()).add(number)
    return [sorted(set().union(*(rounds_of.get(digest, set()) for digest in part))) for part in parts]
