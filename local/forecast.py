"""The emulator's runs behind a forecast's band (gtchain.domain.forecast), for a chain with no completed round.

Each planned round is labeled by the emulated Ground Truth's active-learning loop (local/groundtruth/loop.py:
the schedule of https://docs.aws.amazon.com/sagemaker/latest/dg/sms-automated-labeling.html, a real numpy
learner, emulated workers) on synthetic objects: the same object count, task, labels, workers, concurrency and
time limits as chain.json, one run per seed. Rounds run in order per seed, each starting from the model the
round before trained, as the chain would; a baseline runs the same objects from a cold start. Nothing here
reads the user's data, and the numbers describe the emulator, not AWS: the forecast labels them so.

No moto, no handlers, no emulated clock: only the loop, so a round of 1,250 objects takes about a second.
"""

import dataclasses
from collections.abc import Sequence
from typing import Any

import numpy as np

from gtchain.domain.forecast import EmulatedJob, PlannedRound
from gtchain.domain.names import Role
from gtchain.domain.spec import ChainSpec
from local.groundtruth import loop
from local.groundtruth.world import stable_seed

# labeled_by's codes (loop.py): 1 human, 2 machine, 3 failed (tasks expired)
HUMAN, MACHINE, FAILED = (getattr(loop, name, code) for name, code in (("HUMAN", 1), ("MACHINE", 2), ("FAILED", 3)))
_PROBE_FAILED: type[Exception] = getattr(loop, "ProbeFailedError", RuntimeError)

DEFAULT_SEEDS = (1, 2, 3)
REGION = "us-east-1"
PUBLIC_WORKTEAM = f"arn:aws:sagemaker:{REGION}:394669845002:workteam/public-crowd/default"


def _identities(spec: ChainSpec, seed: int, planned: PlannedRound) -> list[str]:
    """Synthetic objects, distinct per seed and round: the emulator derives each one's truth from its name."""
    if spec.profile.inline_text:
        return [f"Forecast message {seed}-{planned.number}-{i}" for i in range(planned.objects)]
    return [f"s3://gtchain-forecast/{seed}/round-{planned.number}/{i:06d}.jpg" for i in range(planned.objects)]


def _config(spec: ChainSpec, initial: object | None, seed: int) -> "loop.RunConfig":
    """The job's settings as the emulator's RunConfig takes them (time limits and crowd where it has them)."""
    settings: dict[str, Any] = {
        "workers": spec.workers_per_object,
        "max_concurrent": spec.max_concurrent_tasks,
        "auto_labeling": spec.auto_labeling,
        "initial_model": initial,
        "seed": seed,
        "time_limit": float(spec.task_time_limit_seconds),
        "availability": float(spec.task_availability_seconds),
    }
    known = {f.name for f in dataclasses.fields(loop.RunConfig)}
    if "crowd" in known:
        from local.groundtruth.workers import crowd_for

        settings["crowd"] = crowd_for(spec.workforce.workteam_arn or PUBLIC_WORKTEAM, REGION)
    return loop.RunConfig(**{k: v for k, v in settings.items() if k in known})


def _run(spec: ChainSpec, identities: list[str], initial: object | None, seed: int) -> "loop.ActiveLearningRun":
    kit = loop.ALGORITHM_KITS[spec.profile.algorithm](tuple(spec.labels))
    run = loop.ActiveLearningRun(kit, identities, _config(spec, initial, seed))
    try:
        for _ in run.iterations():
            pass
    except _PROBE_FAILED:  # the job fails after its probe: what it labeled so far is what it cost
        pass
    return run


def _job(seed: int, planned: PlannedRound, role: Role, run: "loop.ActiveLearningRun") -> EmulatedJob:
    labeled_by = run.labeled_by
    return EmulatedJob(
        seed=seed, round=planned.number, role=role, objects=planned.objects,
        human=int(np.count_nonzero(labeled_by == HUMAN)), machine=int(np.count_nonzero(labeled_by == MACHINE)),
        failed=int(np.count_nonzero(labeled_by == FAILED)),
    )  # fmt: skip


def emulate(
    spec: ChainSpec, planned: Sequence[PlannedRound], seeds: Sequence[int] = DEFAULT_SEEDS
) -> list[EmulatedJob]:
    """Every planned job (rounds and baselines) labeled once per seed; the same seeds give the same jobs. A task
    the emulator has no learner for gives no runs (the forecast then has no expected cost)."""
    if spec.profile.algorithm not in loop.ALGORITHM_KITS:
        return []
    jobs: list[EmulatedJob] = []
    for seed in seeds:
        model: object | None = None
        for p in planned:
            identities = _identities(spec, seed, p)
            run = _run(
                spec, identities, model if p.with_model else None, stable_seed("forecast", str(seed), str(p.number))
            )
            jobs.append(_job(seed, p, "round", run))
            model = run.final_model or model  # a round that trains no model carries the one before
            if p.baseline:
                base = _run(spec, identities, None, stable_seed("forecast-baseline", str(seed), str(p.number)))
                jobs.append(_job(seed, p, "baseline", base))
    return jobs
