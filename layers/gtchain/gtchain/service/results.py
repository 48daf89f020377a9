"""Results: when every round of a dropped manifest has completed, its labels in one manifest, in input order.

Each line of chains/<id>/results/<name> is the input line plus the label attribute and its metadata from the
output manifest of the round that labeled it: the manifest's own round (a retried round: the retry's job), or,
for an object skipped as already labeled, the round that labeled it before. Baselines never contribute.

Streaming throughout: the parts and output manifests are read line by line; what stays in memory is the
manifest's digests (16 bytes per object) and, per labeled object, its offset in a temporary file of labels.
"""

import json
import tempfile
from dataclasses import dataclass, field
from decimal import Decimal
from typing import IO, Any

from gtchain.domain import events, names
from gtchain.domain.audit import AUDIT_MARK, BELOW_BAR, gate_pending, machine_labeled, marked_below_bar
from gtchain.domain.digest_index import DIGEST_SIZE
from gtchain.domain.output_manifest import read_output_line
from gtchain.domain.pricing import to_cents
from gtchain.domain.records import ChainRecord, JobRecord, ManifestRecord, RoundRecord, RoundStatus
from gtchain.observability import logger
from gtchain.service.dedupe import Digests, split_digests
from gtchain.service.job_output import OutputNotReadyError, output_manifest_location
from gtchain.service.ports import Ports


@dataclass
class ResultsOutcome:
    completed: list[str] = field(default_factory=list)
    waiting: list[str] = field(default_factory=list)  # manifest: why its results could not be written yet


@dataclass
class ResultsSummary:
    uri: str
    objects: int = 0
    unlabeled: int = 0  # neither labeled nor failed (a stopped job's objects, for one)
    failed: int = 0  # Ground Truth could not label them: their failure metadata is kept


def complete_ready_manifests(ports: Ports, chain_id: str) -> ResultsOutcome:
    """Write results for every manifest whose rounds (and the rounds its skipped objects came from) have all
    completed. Idempotent: the results are rewritten identically and the completion is recorded once."""
    outcome = ResultsOutcome()
    store = ports.store
    pending = [m for m in store.list_manifests(chain_id) if not m.announced]
    if not pending:
        return outcome
    chain = store.get_chain(chain_id)
    if chain is None:
        return outcome
    rounds = {r.number: r for r in store.list_rounds(chain_id)}
    for manifest in pending:
        own = [rounds[n] for n in manifest.rounds if n in rounds]
        if manifest.status == "completed" and manifest.results_uri:
            # recorded, but the invocation ended before Manifest Completed went out
            _announce(ports, manifest, own, ResultsSummary(manifest.results_uri, manifest.lines, manifest.unlabeled))
            continue
        if len(own) != len(manifest.rounds) or any(r.status != RoundStatus.COMPLETED for r in own):
            continue
        sources = _label_sources(own, rounds)
        if any(rounds[n].status != RoundStatus.COMPLETED for n in sources):
            continue
        if audited := [r.number for r in (*own, *(rounds[n] for n in sources)) if gate_pending(r)]:
            # minAccuracy: the labels of a round whose audit is not in yet may be marked below the bar
            outcome.waiting.append(f"{manifest.name}: waiting for the audit of round(s) {audited}")
            continue
        try:
            summary = write_results(ports, chain, manifest, own, [rounds[n] for n in sorted(sources)])
        except OutputNotReadyError as exc:
            logger.info("results wait for job output", extra={"chain_id": chain_id, "manifest": manifest.name,
                                                               "reason": str(exc)})  # fmt: skip
            outcome.waiting.append(f"{manifest.name}: {exc}")
            continue
        if store.complete_manifest(manifest, summary.uri, summary.unlabeled):
            _announce(ports, manifest, own, summary)
            outcome.completed.append(manifest.name)
    return outcome


def _label_sources(own: list[RoundRecord], rounds: dict[int, RoundRecord]) -> set[int]:
    """Rounds that labeled the manifest's skipped objects, following rounds that skipped them in turn."""
    own_numbers = {r.number for r in own}
    found: set[int] = set()
    todo = [s.round for r in own for s in r.skipped_from]
    while todo:
        number = todo.pop()
        if number in found or number in own_numbers or number not in rounds:
            continue
        found.add(number)
        todo.extend(s.round for s in rounds[number].skipped_from)
    return found


def _output_location(ports: Ports, job: JobRecord) -> tuple[str, str]:
    uri = job.output_uri
    if uri is None and (described := ports.labeling.describe_job(job.name)) is not None:
        uri = described.output_manifest_uri
    return output_manifest_location(ports.objects, job.name, uri)


def _index_labels(
    ports: Ports, record: RoundRecord, attribute: str, labels: IO[bytes], where: dict[bytes, int],
    failed: set[bytes], needed: set[bytes] | None,
) -> None:  # fmt: skip
    """Append the round's labels to `labels`, one line each: the label's JSON members without the braces, ready
    to be appended to an input line. `where` maps each object's digest to its label's offset. An object the job
    could not label keeps its failure metadata (in `failed`) when the round is one of the manifest's own; from a
    round it was skipped for, only a real label counts."""
    if record.job is None:
        return  # a round completed without a job labeled nothing itself
    below_bar = marked_below_bar(record)
    for line in ports.objects.iter_lines(*_output_location(ports, record.job)):
        read = read_output_line(line, attribute)
        if read is None or read.outcome == "unlabeled" or (read.outcome == "failed" and needed is not None):
            continue
        digest = read.digest
        if needed is not None and digest not in needed:
            continue
        members = read.members
        if below_bar and machine_labeled(members, attribute):
            members = {**members, AUDIT_MARK: BELOW_BAR}  # its round's audit fell below minAccuracy
        where[digest] = labels.seek(0, 2)
        labels.write(json.dumps(members, ensure_ascii=False)[1:-1].encode() + b"\n")
        if read.outcome == "failed":
            failed.add(digest)
        else:
            failed.discard(digest)


def write_results(
    ports: Ports, chain: ChainRecord, manifest: ManifestRecord, own: list[RoundRecord], sources: list[RoundRecord]
) -> ResultsSummary:
    bucket = ports.settings.data_bucket
    key = names.results_key(chain.chain_id, manifest.name)
    attribute = chain.spec.label_attribute_name
    own = sorted(own, key=lambda r: r.part)
    summary = ResultsSummary(uri=f"s3://{bucket}/{key}")
    with tempfile.TemporaryFile() as labels, tempfile.TemporaryFile() as results:
        where: dict[bytes, int] = {}
        failed: set[bytes] = set()
        digests_of = Digests(ports, chain.digest_index)
        if sources:
            needed = {d for r in own for d in split_digests(digests_of.part(r))}
            for source in sources:  # ascending: the latest label of an object wins, as when it was skipped
                _index_labels(ports, source, attribute, labels, where, failed, needed)
        for record in own:  # the manifest's own rounds take precedence for their objects
            _index_labels(ports, record, attribute, labels, where, failed, None)
        for record in own:
            digests = digests_of.part(record)
            location = names.object_location(record.input_uri)
            for index, line in enumerate(ports.objects.iter_lines(*location)):
                summary.objects += 1
                digest = digests[index * DIGEST_SIZE : (index + 1) * DIGEST_SIZE]
                offset = where.get(digest)
                if offset is None:
                    summary.unlabeled += 1
                    results.write(line.rstrip() + b"\n")
                    continue
                if digest in failed:
                    summary.failed += 1
                labels.seek(offset)
                results.write(_labeled_line(line.rstrip(), labels.readline().rstrip(b"\n"), attribute) + b"\n")
        results.seek(0)
        ports.objects.upload(bucket, key, results, "application/x-ndjson")
    return summary


def _labeled_line(line: bytes, members: bytes, attribute: str) -> bytes:
    """The input line (a JSON object, validated when queued) with the label's members appended. Parsed only
    when the input may already carry the attribute (or an audit's mark), so the new label replaces the old one."""
    if json.dumps(attribute).encode() not in line and json.dumps(AUDIT_MARK).encode() not in line:
        return line[:-1] + b", " + members + b"}"
    obj: dict[str, Any] = json.loads(line)
    obj.update(json.loads(b"{" + members + b"}"))
    return json.dumps(obj, ensure_ascii=False).encode()


def _announce(ports: Ports, manifest: ManifestRecord, own: list[RoundRecord], summary: ResultsSummary) -> None:
    jobs = [job for r in own for job in r.all_jobs()]
    finals = [r.job for r in own if r.job is not None and r.job.counters is not None]
    human = sum(j.counters.human_labeled for j in finals if j.counters)
    machine = sum(j.counters.machine_labeled for j in finals if j.counters)
    failed = sum(j.counters.failed for j in finals if j.counters)  # LabelCounters, as the reports count
    cost = sum((j.known_cost_usd or Decimal(0) for j in jobs if j.role == "round"), Decimal(0))
    baseline_cost = sum((j.known_cost_usd or Decimal(0) for j in jobs if j.role == "baseline"), Decimal(0))
    complete = all(j.cost_usd is not None for j in jobs)
    detail = events.ManifestCompletedDetail(
        chain_id=manifest.chain_id, manifest=manifest.name,
        manifest_key=names.manifest_key(manifest.chain_id, manifest.name), version_id=manifest.version,
        results_uri=summary.uri, rounds=manifest.rounds, objects=summary.objects, human=human, machine=machine,
        skipped=sum(r.skipped_objects for r in own), unlabeled=summary.unlabeled, failed=failed,
        cost_usd=str(to_cents(cost)), cost_complete=complete, baseline_cost_usd=str(to_cents(baseline_cost)),
    )  # fmt: skip
    ports.publisher.publish(events.MANIFEST_COMPLETED, detail.to_detail())
    lower_bound = "" if complete else " (at least: the workforce's task price is unknown)"
    ports.publisher.notify(
        f"gtchain: {manifest.name} labeled",
        f"Chain {manifest.chain_id} finished {manifest.name} (version {manifest.version}) in rounds "
        f"{', '.join(str(n) for n in manifest.rounds)}.\n"
        f"Results: {summary.uri}\n"
        f"{summary.objects} objects: {human} labeled by humans, {machine} by the model, "
        f"{detail.skipped} already labeled earlier in the chain, {failed} that Ground Truth could not label, "
        f"{summary.unlabeled} without a label.\n"
        f"Cost: ${detail.cost_usd}{lower_bound}; baselines ${detail.baseline_cost_usd}.",
    )
    ports.store.mark_announced(manifest)
    logger.info("manifest completed", extra={"chain_id": manifest.chain_id, "manifest": manifest.name,
                                              "results": summary.uri})  # fmt: skip
