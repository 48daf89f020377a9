"""Event to action: what one invocation costs once its event arrives.

- Advance, in-process against moto (mock_aws), as the tests drive it: the latency of each Completed event,
  p50 and p95 over EVENTS chains, for "starts the next round" and "starts the next round and its baseline".
- Start on a 2,500-line and a 100,000-line manifest: moto runs as a server in its own process, so the
  handler's peak RSS is its own (validation streams the manifest: it must not grow with it). The handler
  is warm: an invocation on a 10-line manifest has created its clients first.

`python -m bench.latency <result-file> advance <baseline: 0|1>` and `... start <warm-up key> <version> <key>
<version>` are the
measured children; `bench.latency:setup_start` prepares the server.
"""

import json
import os
import statistics
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from bench.proc import ROOT, Child, child_main, peak_rss_mb, run_child
from bench.report import Row
from bench.scenarios import MotoTime
from bench.server import moto_server

EVENTS = 200
ROUNDS = 10  # per chain in the advance runs: each Completed event but the last starts the next round
LINES_PER_ROUND = 10  # the advance handler never reads the manifest
START_SIZES = (2_500, 100_000)
START_RUNS = 3  # fresh interpreters per size, each on its own chain (a repeated manifest is a duplicate)
WARM_UP_LINES = 10
TARGET_START_PEAK_MB = 200.0

_ENV = {
    "POWERTOOLS_SERVICE_NAME": "gtchain", "POWERTOOLS_METRICS_NAMESPACE": "gtchain", "LOG_LEVEL": "INFO",
    # Tracing off as in the tests: there is no X-Ray daemon here.
    "POWERTOOLS_TRACE_DISABLED": "1",
}  # fmt: skip


def _spec(baseline: bool) -> dict[str, Any]:
    spec: dict[str, Any] = json.loads((ROOT / "tests" / "data" / "chain.json").read_text())
    spec["baseline"] = baseline
    return spec


def _percentile(samples: list[float], share: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


# ---- advance, in-process ----------------------------------------------------------------------------


class _Requests:
    """The AWS calls one invocation makes and the time spent inside moto serving them (what AWS's own
    service time would replace), so an event's latency splits into gtchain's share and moto's."""

    def __init__(self) -> None:
        self.moto = MotoTime()
        self.calls: Counter[str] = Counter()

    def watch_default_session(self) -> None:
        """Count the calls of every client made from now on: each copies the default session's hooks. Inside
        mock_aws, whose own default session replaces the outer one."""
        import boto3

        boto3.setup_default_session()
        assert boto3.DEFAULT_SESSION is not None
        boto3.DEFAULT_SESSION.events.register("before-call", self._count)

    def _count(self, model: Any, **_: Any) -> None:
        self.calls[f"{model.service_model.service_name}.{model.name}"] += 1

    def reset(self) -> None:
        self.moto.seconds = 0.0
        self.calls.clear()


def _advance(with_baseline: bool) -> dict[str, Any]:
    """Chains of ROUNDS rounds, each in a fresh moto: moto's TransactWriteItems copies the whole table, so
    one table holding every chain would time moto's growth, not the handler."""
    from moto import mock_aws

    from gtchain.adapters import aws_ports, clients
    from gtchain.domain.labeling_job import TAG_ROLE, TAG_ROUND
    from local import moto_labeling
    from tests.integration.chain.flow import advance, drop, jobs, manifest_lines, model_arn
    from tests.support import create_stack, finish_job

    def current_job(number: int) -> str:
        for job in jobs().values():
            tags = {t["Key"]: t["Value"] for t in job.tags}
            if tags[TAG_ROLE] == "round" and tags[TAG_ROUND] == str(number):
                return job.name
        raise RuntimeError(f"no job for round {number}")

    moto_labeling.install()
    requests = _Requests()
    spec = _spec(with_baseline)
    spec["rounds"] = ROUNDS
    events: list[dict[str, Any]] = []
    calls: Counter[str] = Counter()
    while len(events) < EVENTS:
        with mock_aws():
            clients.reset()
            aws_ports.cache_clear()
            requests.watch_default_session()
            stack = create_stack()
            os.environ.update({k: str(v) for k, v in stack.settings.model_dump(by_alias=True).items()})
            drop(stack, "chains/birds/chain.json", json.dumps(spec))
            drop(stack, "chains/birds/inbox/birds.manifest", manifest_lines(ROUNDS * LINES_PER_ROUND))
            for number in range(1, min(ROUNDS, EVENTS - len(events) + 1)):
                name = current_job(number)
                finish_job(name, human=4, machine=6, model=model_arn(f"birds-r{number}"))
                requests.reset()
                started = time.perf_counter()
                outcome = advance(name, "Completed")
                elapsed = time.perf_counter() - started
                events.append({"ms": elapsed * 1000, "moto_ms": requests.moto.seconds * 1000,
                               "calls": sum(requests.calls.values())})  # fmt: skip
                calls += requests.calls
                started_jobs = [j for j in jobs().values() if f"-r{number + 1}" in j.name]
                if outcome["action"] != "applied" or len(started_jobs) != (2 if with_baseline else 1):
                    raise RuntimeError(f"{name}: {outcome}; started {[j.name for j in started_jobs]}")
    return {"events": events, "calls_per_event": {k: v / len(events) for k, v in calls.most_common()}}


# ---- start, against moto in its own process --------------------------------------------------------


def setup_start(args: list[str]) -> dict[str, Any]:
    """In the server's process: a stack and, per measured run, two chains with their manifests uploaded:
    a small one that warms the handler up (clients created) and the measured one."""
    from tests.integration.chain.flow import drop, manifest_lines
    from tests.support import create_stack

    stack = create_stack()
    os.environ.update({k: str(v) for k, v in stack.settings.model_dump(by_alias=True).items()})
    spec = json.dumps(_spec(True))
    runs: dict[str, list[dict[str, str]]] = {}
    for lines in map(int, args):
        body = manifest_lines(lines)
        for run in range(START_RUNS):
            keys: dict[str, str] = {}
            for role, manifest in (("warm", manifest_lines(WARM_UP_LINES)), ("measured", body)):
                chain = f"{role}-{lines}-{run}"
                drop(stack, f"chains/{chain}/chain.json", spec)
                key = f"chains/{chain}/inbox/birds.manifest"
                keys |= {f"{role}_key": key, f"{role}_version": stack.put(key, manifest)}
            runs.setdefault(str(lines), []).append({**keys, "bytes": str(len(body))})
    settings = {k: str(v) for k, v in stack.settings.model_dump(by_alias=True).items()}
    return {"runs": runs, "settings": settings}


def _start(warm_key: str, warm_version: str, key: str, version: str) -> dict[str, Any]:
    from functions.start import app
    from tests.integration.chain.flow import object_created
    from tests.support import LambdaContext

    outcomes = [app.lambda_handler(object_created(warm_key, warm_version), LambdaContext())]
    before = peak_rss_mb()
    started = time.perf_counter()
    outcomes.append(app.lambda_handler(object_created(key, version), LambdaContext()))
    elapsed = time.perf_counter() - started
    if any(outcome["action"] != "queued" for outcome in outcomes):
        raise RuntimeError(f"{key}: {outcomes}")
    return {"seconds": elapsed, "rss_before_mb": before}


def _child(args: list[str]) -> dict[str, Any]:
    if args[0] == "advance":
        return _advance(args[1] == "1")
    return _start(*args[1:5])


# ---- the parent --------------------------------------------------------------------------------------


def _advance_rows() -> list[Row]:
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PYTHONPATH": str(ROOT), "AWS_REGION": "us-east-1",
           "AWS_DEFAULT_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
           **_ENV}  # fmt: skip
    scenarios = ((False, "starts the next round"), (True, "starts the next round and its baseline"))
    # The two runs share the machine's two cores: moto's own time dominates and would take minutes in series.
    with ThreadPoolExecutor(len(scenarios)) as pool:
        children = list(pool.map(lambda baseline: run_child("bench.latency", "advance", str(int(baseline)), env=env,
                                                            log_name=f"advance-{int(baseline)}"),
                                 [baseline for baseline, _ in scenarios]))  # fmt: skip
    rows = []
    for (_, what), child in zip(scenarios, children, strict=True):
        events = child.result["events"]
        total = [e["ms"] for e in events]
        own = [e["ms"] - e["moto_ms"] for e in events]
        p50, p95 = statistics.median(total), _percentile(total, 0.95)
        own50, own95 = statistics.median(own), _percentile(own, 0.95)
        calls = child.result["calls_per_event"]
        top = ", ".join(f"{name} {count:g}" for name, count in list(calls.items())[:4])
        rows += [
            # No target on the time: against moto it measures moto; the budget is the AWS calls (bench.events).
            Row("event to action", f"advance, Completed event that {what} (p50 / p95 of {len(events)})",
                f"{p50:.0f} / {p95:.0f} ms", "", None,
                {"p50_ms": p50, "p95_ms": p95, "own_p50_ms": own50, "own_p95_ms": own95, "events": events,
                 "calls_per_event": calls}),
            Row("event to action", "... of which outside moto (gtchain, Powertools, botocore); AWS calls per event",
                f"{own50:.0f} / {own95:.0f} ms; {sum(calls.values()):.1f} calls ({top}, ...)"),
        ]  # fmt: skip
    return rows


def _start_rows() -> list[Row]:
    rows = []
    with moto_server("bench.latency:setup_start", *map(str, START_SIZES)) as server:
        env = server.client_environment(**server.info["settings"], PYTHONPATH=str(ROOT), **_ENV)
        for lines in START_SIZES:
            runs = server.info["runs"][str(lines)]
            children: list[Child] = [
                run_child("bench.latency", "start", run["warm_key"], run["warm_version"], run["measured_key"],
                          run["measured_version"], env=env, log_name=f"start-{lines}")
                for run in runs
            ]  # fmt: skip
            seconds = statistics.median(c.result["seconds"] for c in children)
            peak = max(c.peak_rss_mb for c in children)
            before = max(c.result["rss_before_mb"] for c in children)
            targeted = lines == max(START_SIZES)
            rows.append(Row(
                "event to action", f"start, {lines:,}-line manifest ({int(runs[0]['bytes']) / 1e6:.1f} MB): "
                "time (warm), peak RSS", f"{seconds * 1000:.0f} ms, {peak:.0f} MB ({before:.0f} MB before it)",
                f"peak < {TARGET_START_PEAK_MB:.0f} MB" if targeted else "",
                peak < TARGET_START_PEAK_MB if targeted else None,
                {"lines": lines, "seconds": seconds, "peak_rss_mb": peak, "rss_before_mb": before,
                 "runs": [{"seconds": c.result["seconds"], "peak_rss_mb": c.peak_rss_mb} for c in children]},
            ))  # fmt: skip
    return rows


def measure() -> list[Row]:
    return _advance_rows() + _start_rows()


if __name__ == "__main__":
    child_main(_child)
