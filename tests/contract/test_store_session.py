"""A store session (one invocation's view of the table), alike of the in-memory fake and of DynamoDB on moto: the
chain is read once, the session's own writes are seen without reading again, and a write that loses makes the
session read the table again. Another invocation is another session (a nested one here)."""

from gtchain.domain.records import RoundStatus
from tests.calls import counting
from tests.contract.conftest import StoreHarness
from tests.contract.test_store import CHAIN, _claim, _manifest, _queued


def test_a_session_reads_the_chain_once_and_sees_its_own_writes(chain_store: StoreHarness) -> None:
    h = chain_store
    _queued(h)
    with h.store.session():
        with counting() as calls:
            chain = h.store.get_chain(CHAIN)
            rounds = h.store.list_rounds(CHAIN)
            assert h.store.get_manifest(CHAIN, "birds.manifest", "m1") is not None
            assert chain is not None and [r.number for r in rounds] == [1, 2]
        if h.side == "moto":
            assert dict(calls) == {"dynamodb.Query": 1}, str(calls)
        assert h.store.claim_round(_claim(h, 1))
        with counting() as calls:
            claimed = h.store.get_round(CHAIN, 1)
            after = h.store.get_chain(CHAIN)
        assert claimed is not None and claimed.status == RoundStatus.STARTING
        assert after is not None and (after.active_round, after.version) == (1, chain.version + 1)
        assert calls.total == 0, str(calls)
        assert h.store.moved(CHAIN)
        # The version check always asks the table, and finds the session's view current.
        assert h.store.chain_version(CHAIN) == after.version


def test_a_write_that_loses_makes_the_session_read_the_table_again(chain_store: StoreHarness) -> None:
    h = chain_store
    _queued(h)
    with h.store.session():
        mine = _claim(h, 1)  # read in this session
        with h.store.session():  # another invocation claims the round first
            assert h.store.claim_round(_claim(h, 1, attempt=7))
        stale = h.store.get_round(CHAIN, 1)
        assert stale is not None and stale.status == RoundStatus.QUEUED  # the session's view, as read
        assert not h.store.claim_round(mine)
        fresh = h.store.get_round(CHAIN, 1)
        assert fresh is not None and fresh.attempt == 7  # read again after the loss
        assert not h.store.moved(CHAIN)


def test_a_note_beside_the_chain_is_not_a_move_and_nothing_is_kept_outside_a_session(
    chain_store: StoreHarness,
) -> None:
    h = chain_store
    _queued(h)
    manifest = h.store.get_manifest(CHAIN, "birds.manifest", "m1")
    assert manifest is not None
    with h.store.session():
        h.store.mark_announced(manifest)
        assert not h.store.moved(CHAIN)
        announced = h.store.get_manifest(CHAIN, _manifest().name, "m1")
        assert announced is not None and announced.announced
    with h.store.session():
        assert h.store.claim_round(_claim(h, 1))
    assert not h.store.moved(CHAIN)
    with counting() as calls:
        h.store.get_chain(CHAIN)
        h.store.get_chain(CHAIN)
    if h.side == "moto":
        assert calls["dynamodb.GetItem"] == 2, str(calls)


def test_a_write_that_holds_in_the_table_but_not_in_a_stale_view_makes_the_session_read_again(
    chain_store: StoreHarness,
) -> None:
    h = chain_store
    _queued(h)
    with h.store.session():
        assert h.store.get_round(CHAIN, 1) is not None  # the round read queued, without a job
        claimed = _claim(h, 1)
        with h.store.session():  # another invocation claims it
            assert h.store.claim_round(claimed)
        assert claimed.job is not None
        # This session marks the job running: the table's round has the job, the session's view has none.
        assert h.store.mark_running(CHAIN, 1, "round", claimed.job.name, "arn:aws:sagemaker:::labeling-job/x")
        running = h.store.get_round(CHAIN, 1)
        assert running is not None and running.job is not None and running.job.status == RoundStatus.RUNNING
