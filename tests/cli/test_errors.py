"""Errors a person makes: one line saying what to do, a documented exit code, no traceback unless --debug."""

import json
import socket
from pathlib import Path

import pytest
from botocore.exceptions import ClientError
from typer.testing import CliRunner

from gtchain_cli import app
from gtchain_cli.bucket import DataBucket
from gtchain_cli.errors import Exit, translate
from tests.cli.conftest import RUNNER_ENV, STACK, Cli, create_stack, one_line
from tests.support import ROOT

NO_AWS = {
    "AWS_ACCESS_KEY_ID": None, "AWS_SECRET_ACCESS_KEY": None, "AWS_SESSION_TOKEN": None, "AWS_PROFILE": None,
    "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent/credentials", "AWS_CONFIG_FILE": "/nonexistent/config",
    "AWS_EC2_METADATA_DISABLED": "true", "AWS_CONTAINER_CREDENTIALS_FULL_URI": None,
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI": None, "AWS_WEB_IDENTITY_TOKEN_FILE": None,
}  # fmt: skip


def _run(*args: str, env: dict[str, str | None] | None = None) -> object:
    return CliRunner().invoke(app, list(args), env={**RUNNER_ENV, **(env or {})})


# ---- usage: exit 2 ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "env", "expected"),
    [
        (["status", "--jsn"], {}, "error: No such option: --jsn (Possible options: --json) (see `gtchain status "
                                  "--help`)"),
        (["pause"], {}, "error: Missing argument 'CHAIN'. (see `gtchain pause --help`)"),
        (["frobnicate"], {}, "error: No such command 'frobnicate'. (see `gtchain --help`)"),
        (["status"], {}, "error: no target: pass --stack NAME (a deployed gtchain stack) or --local (the endpoint "
                         "`make local` runs), or set GTCHAIN_STACK or GTCHAIN_LOCAL=1"),
        (["--stack", "gtchain", "--local", "status"], {}, "error: choose one target: --stack NAME or --local, "
                                                            "not both"),
        (["status"], {"GTCHAIN_STACK": "gtchain", "GTCHAIN_LOCAL": "1"}, "error: GTCHAIN_STACK and GTCHAIN_LOCAL are "
         "both set: unset one, or pass --stack NAME or --local"),
        (["--local", "status", "Birds"], {}, "error: chain id 'Birds' must be 1-32 characters: lower-case letters, "
                                              "digits and single hyphens, starting and ending with a letter or digit"),
        (["report"], {}, "error: name a chain, or a labeling job with --job"),
    ],
)  # fmt: skip
def test_bad_flags_and_arguments_exit_2_with_one_line(args: list[str], env: dict[str, str], expected: str) -> None:
    result = _run(*args, env=env)

    assert result.exit_code == Exit.USAGE  # type: ignore[attr-defined]
    assert one_line(result) == expected  # type: ignore[arg-type]


def test_global_options_may_follow_the_command(cli: Cli) -> None:
    result = cli.bare("status", "--json", "--stack", STACK, "--region", "us-east-1")

    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == []


# ---- AWS configuration: exit 4 ---------------------------------------------------------------------------


def test_no_region_exits_4(cli: Cli) -> None:
    result = cli("status", env={**NO_AWS, "AWS_REGION": None, "AWS_DEFAULT_REGION": None,
                                "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"})  # fmt: skip

    assert result.exit_code == Exit.AWS_CONFIG
    assert one_line(result) == ("error: no AWS region: pass --region, set AWS_REGION, or set a region in your AWS "
                                "profile (aws configure)")  # fmt: skip


def test_no_credentials_exits_4(cli: Cli) -> None:
    result = cli("status", env=NO_AWS)

    assert result.exit_code == Exit.AWS_CONFIG
    assert one_line(result) == ("error: no AWS credentials: run `aws configure` (or `aws sso login --profile NAME` "
                                "and pass --profile NAME), or set AWS_PROFILE")  # fmt: skip


def test_an_unknown_profile_exits_4(cli: Cli, tmp_path: Path) -> None:
    config = tmp_path / "config"
    config.write_text("[profile other]\nregion = us-east-1\n")

    result = cli("--profile", "nope", "status", env={"AWS_CONFIG_FILE": str(config)})

    assert result.exit_code == Exit.AWS_CONFIG
    assert one_line(result) == ("error: The config profile (nope) could not be found: list your profiles with "
                                "`aws configure list-profiles`")  # fmt: skip


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("AccessDenied", "error: access denied: your AWS identity may not call GetObject (stack s in us-east-1); ask "
                         "for the permission or use another --profile"),
        ("ExpiredToken", "error: AWS rejected your credentials (ExpiredToken) (stack s in us-east-1): refresh them "
                         "(aws sso login, or aws configure) and try again"),
    ],
)  # fmt: skip
def test_denied_and_expired_credentials_are_one_line_and_exit_4(code: str, expected: str) -> None:
    from gtchain_cli.target import Target

    target = Target(kind="stack", label="stack s in us-east-1", session=None, region="us-east-1",  # type: ignore[arg-type]
                    bucket="b", table="t")  # fmt: skip
    error = translate(ClientError({"Error": {"Code": code, "Message": "no"}}, "GetObject"), target)

    assert error is not None and error.code == Exit.AWS_CONFIG
    assert f"error: {error.message}" == expected


# ---- targets: exit 5 and 6 -------------------------------------------------------------------------------


def test_an_unknown_stack_exits_5(cli: Cli) -> None:
    result = cli.bare("--stack", "nope", "status")

    assert result.exit_code == Exit.NO_TARGET
    assert one_line(result) == ("error: no stack named nope in us-east-1: check the name (aws cloudformation "
                                "list-stacks) or pass --region / --profile")  # fmt: skip


def test_a_stack_that_is_not_gtchains_exits_5(cli: Cli) -> None:
    create_stack(cli.cloud, "website", {"Url": "https://example.com"})

    result = cli.bare("--stack", "website", "status")

    assert result.exit_code == Exit.NO_TARGET
    assert one_line(result) == ("error: stack website (us-east-1) has no DataBucketName or ChainTableName output: is "
                                "it a gtchain stack? (status CREATE_COMPLETE)")  # fmt: skip


def test_local_without_a_running_endpoint_config_exits_5(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)

    result = _run("--local", "status")

    assert result.exit_code == Exit.NO_TARGET
    assert one_line(result) == (
        "error: no .gtchain/local.json here or above: start the local endpoint with `make local` in the gtchain "
        "checkout (it writes the file), then run this from there"
    )


def test_a_local_endpoint_that_is_not_running_exits_6(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given the local.json of an endpoint that has stopped (nothing listens on its port)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    (tmp_path / ".gtchain").mkdir()
    (tmp_path / ".gtchain" / "local.json").write_text(json.dumps({
        "endpoint": f"http://127.0.0.1:{port}", "region": "us-east-1", "dataBucket": "gtchain-local-data",
        "table": "gtchain-local-chains", "functions": {"StartFunction": "start"},
    }))  # fmt: skip
    (tmp_path / "sub").mkdir()
    monkeypatch.chdir(tmp_path / "sub")  # found from a directory below, too

    result = _run("status", "birds", env={"GTCHAIN_LOCAL": "1"})

    assert result.exit_code == Exit.UNREACHABLE
    assert one_line(result) == (f"error: the local endpoint at http://127.0.0.1:{port} is not running: start it with "
                                "`make local` (or `gtchain local`) and try again")  # fmt: skip


# ---- not found: exit 3; not yet: exit 75 -----------------------------------------------------------------


@pytest.mark.parametrize("command", ["status", "watch", "pause", "stop", "resume", "results", "errors", "report"])
def test_a_chain_that_does_not_exist_exits_3(cli: Cli, command: str) -> None:
    result = cli(command, "nope")

    assert result.exit_code == Exit.NOT_FOUND, result.output
    assert one_line(result) == (f"error: no chain nope in s3://{cli.cloud.bucket}: `gtchain status` lists the "
                                "chains; `gtchain submit nope --spec chain.json` creates it")  # fmt: skip


def test_results_not_written_yet_exit_75_and_an_unknown_manifest_exits_3(cli: Cli) -> None:
    spec = cli.spec_file(rounds=2, baseline=False)
    assert cli("submit", "birds", "--spec", str(spec), str(cli.manifest_file("birds", 100))).exit_code == 0

    pending = cli("results", "birds", "birds")
    nothing = cli("results", "birds")
    unknown = cli("results", "birds", "cats.manifest")
    report = cli("report", "birds")

    assert pending.exit_code == Exit.NOT_YET
    assert one_line(pending) == ("error: the results of birds.manifest are not written yet: it is in progress (0 of "
                                 "2 rounds done); try again later or `gtchain watch birds`")  # fmt: skip
    assert nothing.exit_code == Exit.NOT_YET and one_line(nothing).startswith("error: no results yet in chain birds")
    assert unknown.exit_code == Exit.NOT_FOUND
    assert one_line(unknown) == "error: chain birds has no manifest cats.manifest (its manifests: birds.manifest)"
    assert report.exit_code == Exit.NOT_YET and one_line(report).startswith("error: chain birds has no report yet")


def test_the_report_of_a_job_that_does_not_exist_exits_3(cli: Cli, tmp_path: Path) -> None:
    result = cli("report", "--job", "no-such-job", "--out", str(tmp_path))

    assert result.exit_code == Exit.NOT_FOUND
    assert one_line(result) == ("error: no labeling job named no-such-job: check the name (aws sagemaker "
                                "list-labeling-jobs) and the region")  # fmt: skip


def test_invoke_checks_its_arguments(cli: Cli, tmp_path: Path) -> None:
    event = tmp_path / "event.json"
    event.write_text("{}")

    missing = cli("invoke", "StartFunction", str(tmp_path / "missing.json"))
    unknown = cli("invoke", "FrobFunction", str(event))

    assert missing.exit_code == Exit.USAGE and one_line(missing) == f"error: {tmp_path / 'missing.json'} does not exist"
    assert unknown.exit_code == Exit.USAGE
    assert one_line(unknown).startswith(
        f"error: stack {STACK} in us-east-1 has no function FrobFunction (its "
        "functions: AdvanceFunction, ReconcileFunction, ReportFunction, StartFunction)"
    )


# ---- bugs: exit 70, a traceback only with --debug; Ctrl-C: 130 --------------------------------------------


def test_an_unexpected_error_is_one_line_and_exit_70_and_debug_shows_the_traceback(
    cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(self: DataBucket) -> list[str]:
        raise ZeroDivisionError("division by zero")

    monkeypatch.setattr(DataBucket, "chain_ids", broken)

    plain = cli("status")
    debug = cli("--debug", "status")

    assert plain.exit_code == Exit.SOFTWARE
    assert one_line(plain) == ("error: unexpected ZeroDivisionError: division by zero (a bug in gtchain; run with "
                               "--debug for the traceback)")  # fmt: skip
    assert debug.exit_code == Exit.SOFTWARE
    assert "Traceback (most recent call last)" in debug.stderr and "in broken" in debug.stderr
    assert debug.stderr.rstrip().splitlines()[-1] == ("error: unexpected ZeroDivisionError: division by zero (a bug "
                                                      "in gtchain)")  # fmt: skip


def test_ctrl_c_exits_130(cli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    def interrupted(self: DataBucket) -> list[str]:
        raise KeyboardInterrupt

    monkeypatch.setattr(DataBucket, "chain_ids", interrupted)

    assert cli("status").exit_code == Exit.INTERRUPTED


def test_every_exit_code_is_documented() -> None:
    documented = (ROOT / "docs" / "cli.md").read_text()

    for code in Exit:
        assert f"| {code.value} |" in documented, code
