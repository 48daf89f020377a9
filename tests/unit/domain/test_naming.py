import pytest

from gtchain.domain import names


@pytest.mark.parametrize("chain_id", ["birds", "a", "b1-2-x", "x" * 32])
def test_valid_chain_ids(chain_id: str) -> None:
    assert names.check_chain_id(chain_id) == chain_id


@pytest.mark.parametrize("chain_id", ["", "Birds", "a--b", "-a", "a-", "a_b", "x" * 33, "a/b", "a b"])
def test_invalid_chain_ids(chain_id: str) -> None:
    with pytest.raises(names.InvalidChainIdError, match="lower-case letters"):
        names.check_chain_id(chain_id)


def test_classify_keys() -> None:
    assert names.classify_key("chains/birds/chain.json") == names.ChainObject("birds", "spec", "chain.json")
    assert names.classify_key("chains/birds/inbox/a b.manifest").name == "a b.manifest"
    with pytest.raises(names.NotAChainObjectError, match="directly in"):
        names.classify_key("chains/birds/inbox/sub/a.manifest")
    with pytest.raises(names.InvalidChainIdError):
        names.classify_key("chains/a/b/chain.json")


def test_job_names_are_unique_per_incarnation_round_role_and_attempt_and_fit_63_characters() -> None:
    chain = "c" * 32
    generated = {
        names.job_name("abcdefghijkl", chain, inc, number, role, attempt)
        for inc in ("a1b2c3", "d4e5f6")
        for number in (1, 2, 9999)
        for role in ("round", "baseline")
        for attempt in (1, 99)
    }
    assert len(generated) == 2 * 3 * 2 * 2
    assert max(len(n) for n in generated) == 63
    assert all(names.JOB_NAME.match(n) and n == n.lower() for n in generated)
    # case-insensitively unique too: Ground Truth compares names that way
    assert len({n.lower() for n in generated}) == len(generated)


@pytest.mark.parametrize(
    "args", [("Bad", 1, 1), ("toolongprefix", 1, 1), ("ok", 0, 1), ("ok", 10000, 1), ("ok", 1, 100)]
)
def test_job_name_limits(args: tuple[str, int, int]) -> None:
    prefix, number, attempt = args
    with pytest.raises(ValueError, match=r"prefix|out of range"):
        names.job_name(prefix, "birds", "a1b2c3", number, "round", attempt)


def test_job_name_from_arn() -> None:
    assert names.job_name_from_arn("arn:aws:sagemaker:us-east-1:1:labeling-job/gtchain-a-1") == "gtchain-a-1"
    with pytest.raises(ValueError, match="not a labeling job ARN"):
        names.job_name_from_arn("arn:aws:sagemaker:us-east-1:1:training-job/x")


def test_error_reports_are_named_by_key_and_version() -> None:
    key = names.error_report_key("chains/birds/inbox/a b+c.manifest", "v/1", "birds")
    assert key == "chains/birds/errors/a%20b%2Bc.manifest@v%2F1.json"
    assert names.error_report_key("chains/Bad/chain.json", "v1", None) == "rejected/chains%2FBad%2Fchain.json@v1.json"
