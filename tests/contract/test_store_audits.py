"""The chain store's contract for audits (domain.transitions.claim_audit, end_audit), alike of the fake and of
DynamoDB on moto: a round is audited once, an audit ends once, and a gate's pause lands with it or not at all."""

from decimal import Decimal

from gtchain.domain.records import AuditJob, AuditResult, ClassAccuracy, RoundStatus
from gtchain.domain.spec import ChainState
from tests.contract.conftest import StoreHarness
from tests.contract.test_store import CHAIN, _events, _finished, _queued, _running

LIVE = (RoundStatus.STARTING.value, RoundStatus.RUNNING.value)
DONE = (RoundStatus.COMPLETED.value,)


def _completed_round(h: StoreHarness) -> str:
    _queued(h)
    record = _running(h)
    assert record.job is not None
    assert h.store.finish_job(CHAIN, 1, "round", _finished(record.job))
    return record.job.name


def _audit(audited: str, **changes: object) -> AuditJob:
    return AuditJob(
        name="gtchain-birds-a1b2c3-r1a-a1", kind="verification", audited_job=audited, label_attribute="category-audit",
        objects=20, machine_labeled=30, input_uri="s3://data/chains/birds/rounds/0001/attempt-1/audit.manifest",
        min_accuracy=Decimal("0.9"),
    ).model_copy(update=changes)  # fmt: skip


def _result(below_bar: bool) -> AuditResult:
    return AuditResult(
        scored_at="2026-11-24T10:00:00.000Z",
        audited=20, agreed=17, accuracy=Decimal("0.8500"), lower=Decimal("0.6396"), upper=Decimal("0.9476"),
        classes=[ClassAccuracy(name="Bird", audited=20, agreed=17, accuracy=Decimal("0.8500"),
                               lower=Decimal("0.6396"), upper=Decimal("0.9476"))],
        below_bar=below_bar,
    )  # fmt: skip


def test_a_completed_round_is_audited_once(chain_store: StoreHarness) -> None:
    h = chain_store
    _queued(h)
    record = _running(h)
    assert record.job is not None
    audit = _audit(record.job.name)
    assert not h.store.claim_audit(CHAIN, 1, audit)  # the round is still running
    assert h.store.finish_job(CHAIN, 1, "round", _finished(record.job))
    assert not h.store.claim_audit(CHAIN, 1, _audit("gtchain-birds-a1b2c3-r1-a9"))  # not the round's job
    # Two invocations draw the same audit; the one that writes second loses
    h.before("write", lambda: h.store.claim_audit(CHAIN, 1, audit))
    assert not h.store.claim_audit(CHAIN, 1, audit)
    stored = h.store.get_round(CHAIN, 1)
    assert stored is not None and stored.audit == audit and stored.job_for("audit") == audit
    assert _events(h)[-1] == "audit claimed"


def test_an_audit_ends_once_and_its_result_keeps_its_decimals(chain_store: StoreHarness) -> None:
    h = chain_store
    audit = _audit(_completed_round(h))
    assert h.store.claim_audit(CHAIN, 1, audit)
    assert h.store.mark_running(CHAIN, 1, "audit", audit.name, "arn:aws:sagemaker:::labeling-job/x")
    assert not h.store.end_audit(CHAIN, 1, audit, DONE, None)  # running: not scored yet
    finished = _finished(audit)
    assert h.store.finish_job(CHAIN, 1, "audit", finished)
    chain = h.store.get_chain(CHAIN)
    assert chain is not None and chain.active_round == 0  # an audit holds no claim on the chain
    scored = finished.model_copy(update={"scored": True, "result": _result(False)})
    assert h.store.end_audit(CHAIN, 1, scored, DONE, None)
    assert not h.store.end_audit(CHAIN, 1, scored, DONE, None)  # once
    stored = h.store.get_round(CHAIN, 1)
    assert stored is not None and isinstance(stored.audit, AuditJob)
    assert stored.audit.result == _result(False) and stored.audit.min_accuracy == Decimal("0.9")
    assert _events(h)[-1] == "audit scored"


def test_the_gates_pause_lands_with_the_audits_end_or_not_at_all(chain_store: StoreHarness) -> None:
    h = chain_store
    audit = _audit(_completed_round(h))
    assert h.store.claim_audit(CHAIN, 1, audit)
    finished = _finished(audit)
    assert h.store.finish_job(CHAIN, 1, "audit", finished)
    scored = finished.model_copy(update={"scored": True, "result": _result(True)})
    # The chain is paused by chain.json between the read and the write: the pause (and the end) lose
    h.before("write", lambda: h.store.set_state(CHAIN, ChainState.PAUSED, "chain.json says paused"))
    assert not h.store.end_audit(CHAIN, 1, scored, DONE, "audit: below the bar")
    stored = h.store.get_round(CHAIN, 1)
    assert stored is not None and stored.audit is not None and not stored.audit.scored
    # Read again: the chain is not active, so the end carries no pause
    assert h.store.end_audit(CHAIN, 1, scored, DONE, None)
    chain = h.store.get_chain(CHAIN)
    assert chain is not None and chain.pause_reason == "chain.json says paused"


def test_a_failed_audit_pauses_an_active_chain_in_the_same_write(chain_store: StoreHarness) -> None:
    h = chain_store
    audit = _audit(_completed_round(h))
    assert h.store.claim_audit(CHAIN, 1, audit)
    failed = _finished(audit, RoundStatus.FAILED, failure_reason="ClientError: no images")
    assert h.store.end_audit(CHAIN, 1, failed, LIVE, "audit: the audit of round 1 failed")
    chain = h.store.get_chain(CHAIN)
    assert chain is not None and (chain.state, chain.pause_reason) == ("paused", "audit: the audit of round 1 failed")
    assert not h.store.end_audit(CHAIN, 1, failed, LIVE, None)
