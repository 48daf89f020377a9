"""Never pay twice: before a round starts, the objects another round of the chain labeled (or is to label)
are taken out of its job's manifest, unless chain.json says "relabel": true.

Object identities are 16-byte source digests (manifest.source_digest). Each manifest queued writes the chain's
digest index anew (domain.digest_index), which tells each new round the earlier rounds it shares objects with:
a round that shares none starts without reading anything, one that does reads the index once (and, for a
completed round whose job could not label some objects, what that round really labeled).
"""

import json
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from gtchain.domain import digest_index, names
from gtchain.domain.digest_index import DIGEST_SIZE
from gtchain.domain.output_manifest import read_output_line
from gtchain.domain.records import ChainRecord, RoundDraft, RoundRecord, RoundStatus, SkipSource
from gtchain.service.job_output import output_manifest_location
from gtchain.service.ports import Ports


@dataclass(frozen=True)
class Selection:
    """What a round's jobs label, and what they skip."""

    objects: int
    job_input_uri: str
    job_digests_uri: str | None  # None: the whole part
    skipped: int = 0
    skipped_uri: str | None = None
    skipped_from: list[SkipSource] = field(default_factory=list)


def split_digests(blob: bytes) -> Iterator[bytes]:
    return (blob[i : i + DIGEST_SIZE] for i in range(0, len(blob), DIGEST_SIZE))


def read_uri(ports: Ports, uri: str) -> bytes:
    return ports.objects.get_bytes(*names.object_location(uri))


# An index object never changes once written (each manifest queued writes a new one under a new key): the last
# one this container read or wrote is kept, so an upload and the round it starts read it once.
_kept_index: dict[str, bytes] = {}


def _index(ports: Ports, uri: str) -> bytes:
    if uri not in _kept_index:
        _keep_index(uri, read_uri(ports, uri))
    return _kept_index[uri]


def _keep_index(uri: str, blob: bytes) -> None:
    _kept_index.clear()
    _kept_index[uri] = blob


class Digests:
    """Digests as one use needs them, each object read once. A round queued into the chain's digest index is
    found in the chain's latest index (`index_uri`), which holds every round queued so far: one read serves all."""

    def __init__(self, ports: Ports, index_uri: str | None) -> None:
        self._ports = ports
        self._index_uri = index_uri
        self._read: dict[str, bytes] = {}

    def uri(self, uri: str) -> bytes:
        if uri not in self._read:
            self._read[uri] = read_uri(self._ports, uri)
        return self._read[uri]

    def part(self, record: RoundRecord) -> bytes:
        """The round's part, 16 bytes per object in the part's order."""
        return digest_index.round_digests(_index(self._ports, self._index_uri or record.digests_uri), record.number)

    def labeling(self, record: RoundRecord) -> bytes:
        """What the round's jobs label: the part less what was skipped when it was claimed."""
        return self.uri(record.job_digests_uri) if record.job_digests_uri else self.part(record)


def index_preparer(
    ports: Ports, parts: list[list[bytes]]
) -> Callable[[ChainRecord, list[RoundDraft]], tuple[list[RoundDraft], str]]:
    """For ChainStore.queue_manifest: the chain's digest index with this manifest's parts added under the round
    numbers they are about to take, and the earlier rounds each part shares objects with."""

    def prepare(chain: ChainRecord, drafts: list[RoundDraft]) -> tuple[list[RoundDraft], str]:
        bucket = ports.settings.data_bucket
        earlier = _index(ports, chain.digest_index) if chain.digest_index else b""
        first = chain.next_round
        key = names.digest_index_key(chain.chain_id, chain.incarnation, first + len(parts) - 1)
        index = earlier + digest_index.records(parts, first)
        ports.objects.put(bucket, key, index, "application/octet-stream")
        uri = names.s3_uri(bucket, key)
        _keep_index(uri, index)
        shared = digest_index.overlaps(earlier, parts)
        return [
            d.model_copy(update={"digests_uri": uri, "overlaps": o}) for d, o in zip(drafts, shared, strict=True)
        ], uri

    return prepare


def _labeled_or_to_label(ports: Ports, digests: Digests, other: RoundRecord, record: RoundRecord) -> bytes | None:
    """The digests another round's jobs labeled or will label, if they count against this round."""
    if other.number == record.number:
        return None
    if other.status == RoundStatus.COMPLETED:
        return _labeled_digests(ports, digests, other)
    if other.number > record.number:
        return None  # a later round: it skips what this one labels when its turn comes
    if other.status in (RoundStatus.STARTING, RoundStatus.RUNNING):
        return digests.labeling(other)
    return digests.part(other)  # queued, or failed and to be retried: it will label its part


def _labeled_digests(ports: Ports, digests: Digests, done: RoundRecord) -> bytes:
    """What a completed round really labeled: the objects Ground Truth could not label (failed) were not, and a
    later round may label them. Worked out from the output manifest once, then kept beside the round."""
    job = done.job
    every = digests.labeling(done)
    if job is None or job.counters is None or job.counters.failed == 0:
        return every
    bucket = ports.settings.data_bucket
    key = names.round_labeled_digests_key(done.chain_id, done.number, done.attempt)
    if ports.objects.head(bucket, key) is not None:
        return ports.objects.get_bytes(bucket, key)
    attribute = done.spec_snapshot().label_attribute_name
    failed = set()
    for line in ports.objects.iter_lines(*output_manifest_location(ports.objects, job.name, job.output_uri)):
        read = read_output_line(line, attribute)
        if read is not None and read.outcome == "failed":
            failed.add(read.digest)
    labeled = b"".join(d for d in split_digests(every) if d not in failed)
    ports.objects.put_if_absent(bucket, key, labeled, "application/octet-stream")
    return labeled


def select_objects(
    ports: Ports, chain: ChainRecord, record: RoundRecord, rounds: list[RoundRecord], attempt: int
) -> Selection:
    whole = Selection(record.part_objects, record.input_uri, None)
    # Latest rounds first: a skipped object gets the chain's most recent label.
    others = [r for r in sorted(rounds, key=lambda r: r.number, reverse=True)
              if r.number != record.number and (record.overlaps is None or r.number in record.overlaps)]  # fmt: skip
    if chain.spec.relabel or not others:
        return whole
    digests_of = Digests(ports, chain.digest_index)
    position = {digest: index for index, digest in enumerate(split_digests(digests_of.part(record)))}
    labeled_by: dict[int, int] = {}  # index in the part -> the round that labels it
    for other in others:
        digests = _labeled_or_to_label(ports, digests_of, other, record)
        if digests is None:
            continue
        for digest in split_digests(digests):
            index = position.get(digest)
            if index is not None:
                labeled_by.setdefault(index, other.number)
    if not labeled_by:
        return whole
    first_object = sum(
        r.part_objects for r in rounds
        if (r.manifest_name, r.manifest_version) == (record.manifest_name, record.manifest_version)
        and r.part < record.part
    )  # fmt: skip
    return _write_selection(ports, chain.chain_id, record, attempt, labeled_by, first_object, digests_of.part(record))


def _write_selection(
    ports: Ports, chain_id: str, record: RoundRecord, attempt: int, labeled_by: dict[int, int], first_object: int,
    digests: bytes,
) -> Selection:  # fmt: skip
    """Cut the part down to the objects nobody labeled, streaming: the job's manifest, its digests, and the
    list of what was skipped (for the round's record and the people reading it)."""
    bucket = ports.settings.data_bucket
    location = names.object_location(record.input_uri)
    counts: dict[int, int] = {}
    keys = (
        names.round_input_key(chain_id, record.number, attempt),
        names.round_digests_key(chain_id, record.number, attempt),
        names.round_skipped_key(chain_id, record.number, attempt),
    )
    with (
        tempfile.TemporaryFile() as kept,
        tempfile.TemporaryFile() as kept_digests,
        tempfile.TemporaryFile() as listing,
    ):
        for index, line in enumerate(ports.objects.iter_lines(*location)):
            source_round = labeled_by.get(index)
            if source_round is None:
                kept.write(line if line.endswith(b"\n") else line + b"\n")
                kept_digests.write(digests[index * DIGEST_SIZE : (index + 1) * DIGEST_SIZE])
                continue
            counts[source_round] = counts.get(source_round, 0) + 1
            obj = json.loads(line)
            source = {k: obj[k] for k in ("source-ref", "source") if k in obj}
            entry = {"object": first_object + index + 1, **source, "labeledInRound": source_round}
            listing.write(json.dumps(entry).encode() + b"\n")
        for stream, key, content_type in zip(
            (kept, kept_digests, listing), keys,
            ("application/x-ndjson", "application/octet-stream", "application/x-ndjson"), strict=True,
        ):  # fmt: skip
            stream.seek(0)
            ports.objects.upload(bucket, key, stream, content_type)
    skipped = len(labeled_by)
    return Selection(
        objects=record.part_objects - skipped,
        job_input_uri=f"s3://{bucket}/{keys[0]}",
        job_digests_uri=f"s3://{bucket}/{keys[1]}",
        skipped=skipped,
        skipped_uri=f"s3://{bucket}/{keys[2]}",
        skipped_from=[SkipSource(round=n, objects=c) for n, c in sorted(counts.items())],
    )
