"""Hierarchical evaluation of the two-timescale system: a frame-level policy composed with a
slot-level policy, each analytic or trained, on the fixed test seeds.

Every combination runs ``TwoTimescale-v0`` with the frame policy plugged in as its
``frame_policy`` (a rule of ``FRAME_POLICIES``, or an agent trained on ``TwoTimescaleFrame-v0``
through ``AgentFramePolicy``) and the slot policy acting on its observations (a baseline of
``SLOT_BASELINES`` or an agent trained on ``TwoTimescale-v0``). The env's config is the one the
trained agents were trained on (their run folders' ``env_kwargs``). Reports per combination the
episode cost (mean slot objective, s) with its 95 % CI and the paired difference to the best
other, the delay components (transmission, computation, retraining, s per slot summed over the
MUs), the mean accuracy, the summed accuracy violation and the share of MU-slots below
``acc_min``; plots the slot objective (per frame) and the mean accuracy (per slot) over the
episode, averaged over the seeds. Combinations: the analytic ones of :data:`ANALYTIC`, then,
given trained agents, the paper's scheme (the DT frame heuristic with the slot agent), the
frame agent with the closed-form slot split, both agents, and the ablation without DT data
(the slot agent under a frame policy that never retrains, so that no DT data is generated).
Writes ``<out>/two_timescale_hierarchy.md``, ``.csv`` and ``.png``.

    python eval/two_timescale_hierarchy.py [--slot-agent RUN_FOLDER] [--frame-agent RUN_FOLDER]
        [--episodes 20] [--env-kwargs KEY=VALUE ...] [--out FOLDER]
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np

import mec_gym  # noqa: F401
from mec_gym.agents.base import FixedPolicy
from mec_gym.agents.two_timescale import AgentFramePolicy, SlotBaselinePolicy
from mec_gym.eval import output
from mec_gym.eval.benchmark import agent_source
from mec_gym.eval.evaluation import (
    EVAL_SEEDS,
    EvalResult,
    comparison_markdown,
    comparison_rows,
    protocol_for,
)
from mec_gym.solvers.two_timescale.frame import FRAME_POLICIES

NAME = "two_timescale_hierarchy"
SLOT_ENV = "TwoTimescale-v0"
ANALYTIC: tuple[tuple[str, str], ...] = (
    ("dt_threshold", "closed_form"),
    ("dt_threshold", "closed_form_adaptive"),
    ("dt_threshold", "equal"),
    ("nearest_threshold", "closed_form"),
    ("dt_always", "closed_form"),
    ("dt_always", "closed_form_adaptive"),
    ("dt_never", "closed_form"),
)
"""(frame rule, slot baseline) pairs evaluated in every run (those the slot config admits)."""
PLOTTED = 5
"""How many combinations (the best) the figure shows."""


@dataclass
class TrainedAgent:
    """A trained agent of a run folder: the SB3 model and the env arguments it trained with."""

    label: str
    model: Any
    env_kwargs: dict[str, Any]


def load_agent(run: Path, env_id: str) -> TrainedAgent:
    """The best checkpoint of a ``train/<algo>.py`` run folder on ``env_id`` (ValueError if the
    folder is not such a run)."""
    if not run.is_dir():
        raise ValueError(f"{run}: expected a run folder of train/<algo>.py")
    source = agent_source(run)
    if source.env_id != env_id:
        raise ValueError(f"{run} trained on {source.env_id!r}, not {env_id!r}")
    return TrainedAgent(source.name, source.build(), source.env_kwargs)


POLICY_KWARGS = ("frame_policy", "slot_policy")
"""Env arguments naming the other level's policy: each combination sets its own."""


def composed_kwargs(agents: Sequence[TrainedAgent], overrides: dict[str, Any]) -> dict[str, Any]:
    """The env arguments every agent trained with but the other level's policy
    (``POLICY_KWARGS``: each combination sets its own), merged (ValueError if they disagree),
    then ``overrides`` (ValueError if they name a policy)."""
    named = [key for key in POLICY_KWARGS if key in overrides]
    if named:
        raise ValueError(f"--env-kwargs cannot set {named}: each combination sets its policies")
    merged: dict[str, Any] = {}
    for agent in agents:
        for key, value in agent.env_kwargs.items():
            if key in POLICY_KWARGS:
                print(f"  note: {agent.label} trained with {key}={value!r}; not applied here")
                continue
            if key in merged and merged[key] != value:
                raise ValueError(
                    f"the agents trained with different {key}: {merged[key]!r}, {value!r}"
                )
            merged[key] = value
    return {**merged, **overrides}


@dataclass
class Trace:
    """One combination's episodes: the final ``info`` and the per-slot series."""

    infos: list[dict[str, Any]]
    slot_cost: np.ndarray
    """Slot objective, s, (episodes, slots)."""
    accuracy: np.ndarray
    """Mean accuracy over the MUs, (episodes, slots)."""
    below: np.ndarray
    """Share of the MUs below acc_min, (episodes, slots)."""
    seconds_per_decision: float


def run_combination(
    frame_policy: Any, slot_policy: Any, env_kwargs: dict[str, Any], seeds: Sequence[int]
) -> Trace:
    """Play one episode per seed of ``TwoTimescale-v0`` with the two policies."""
    env = gym.make(SLOT_ENV, frame_policy=frame_policy, **env_kwargs)
    base = env.unwrapped
    infos, costs, accuracy, below = [], [], [], []
    seconds, decisions = 0.0, 0
    for seed in seeds:
        observation, _ = env.reset(seed=int(seed))
        if isinstance(slot_policy, FixedPolicy):
            slot_policy.begin_episode(int(seed))
        series: list[tuple[float, float, float]] = []
        done = False
        while not done:
            tic = time.perf_counter()
            action = slot_policy.predict(observation, deterministic=True)[0]
            seconds += time.perf_counter() - tic
            decisions += 1
            observation, _, terminated, truncated, info = env.step(action)
            outcome = base.last_outcome
            series.append(
                (
                    info["slot_cost"],
                    float(outcome.accuracy.mean()),
                    float(np.mean(outcome.accuracy_violation > 0)),
                )
            )
            done = terminated or truncated
        infos.append(info)
        values = np.array(series)
        costs.append(values[:, 0])
        accuracy.append(values[:, 1])
        below.append(values[:, 2])
    env.close()
    return Trace(
        infos, np.array(costs), np.array(accuracy), np.array(below), seconds / max(decisions, 1)
    )


def combinations(
    slot_agent: TrainedAgent | None, frame_agent: TrainedAgent | None, slot_action: str
) -> list[tuple[str, Any, Any]]:
    """(label, frame policy, slot policy or its baseline name) of every combination run."""
    found: list[tuple[str, Any, Any]] = [
        (f"{frame} + {slot}", FRAME_POLICIES[frame], slot)
        for frame, slot in ANALYTIC
        if slot_action == "full" or slot != "equal"
    ]
    if slot_agent is not None:
        found.append(
            (f"dt_threshold + {slot_agent.label}", FRAME_POLICIES["dt_threshold"], slot_agent.model)
        )
        found.append(
            (
                f"dt_never + {slot_agent.label} (no DT data)",
                FRAME_POLICIES["dt_never"],
                slot_agent.model,
            )
        )
    if frame_agent is not None:
        frame = AgentFramePolicy(frame_agent.model)
        found.append((f"{frame_agent.label} + closed_form", frame, "closed_form"))
        if slot_agent is not None:
            found.append((f"{frame_agent.label} + {slot_agent.label}", frame, slot_agent.model))
    return found


def result_of(label: str, trace: Trace, seeds: Sequence[int]) -> EvalResult:
    """The trace as an ``EvalResult`` of ``TwoTimescale-v0``'s protocol."""
    protocol = protocol_for(SLOT_ENV)
    return EvalResult(
        name=label,
        protocol=protocol,
        seeds=tuple(int(s) for s in seeds),
        episode_score=np.array([info[protocol.score] for info in trace.infos]),
        episode_components={
            key: np.array([info[key] for info in trace.infos]) for key in protocol.components
        },
        seconds_per_decision=trace.seconds_per_decision,
    )


def plot(traces: dict[str, Trace], ranked: Sequence[str], slots_per_frame: int, path: Path) -> None:
    """Slot objective per frame and mean accuracy per slot of the best combinations."""
    fig, (ax_cost, ax_acc) = output.subplots(1, 2, figsize=(11.0, 4.0))
    for label in ranked[:PLOTTED]:
        trace = traces[label]
        per_frame = trace.slot_cost.reshape(trace.slot_cost.shape[0], -1, slots_per_frame)
        ax_cost.plot(np.arange(1, per_frame.shape[1] + 1), per_frame.mean(axis=(0, 2)), label=label)
        ax_acc.plot(np.arange(1, trace.accuracy.shape[1] + 1), trace.accuracy.mean(axis=0), lw=0.8)
    ax_cost.set_xlabel("frame")
    ax_cost.set_ylabel("mean slot objective (s)")
    ax_cost.legend(fontsize=7, loc="best")
    ax_acc.set_xlabel("slot")
    ax_acc.set_ylabel("mean accuracy over the MUs")
    fig.suptitle("means over the test seeds", fontsize=9)
    output.save_figure(fig, path)


def main(argv: Sequence[str] | None = None) -> None:
    argv = output.arguments(argv)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--slot-agent", type=Path, help="run folder of an agent of TwoTimescale-v0")
    parser.add_argument(
        "--frame-agent", type=Path, help="run folder of an agent of TwoTimescaleFrame-v0"
    )
    parser.add_argument(
        "--episodes", type=int, default=20, help=f"test seeds (1-{len(EVAL_SEEDS)}; default 20)"
    )
    from mec_gym.train.cli import add_key_value_argument

    add_key_value_argument(parser, "--env-kwargs", "arguments of gymnasium.make")
    output.add_out_argument(parser, NAME)
    args = parser.parse_args(argv)
    if not 1 <= args.episodes <= len(EVAL_SEEDS):
        parser.error(f"--episodes must be in [1, {len(EVAL_SEEDS)}], got {args.episodes}")
    try:
        slot_agent = load_agent(args.slot_agent, SLOT_ENV) if args.slot_agent else None
        frame_agent = (
            load_agent(args.frame_agent, "TwoTimescaleFrame-v0") if args.frame_agent else None
        )
    except ValueError as error:
        parser.error(str(error))
    agents = [agent for agent in (slot_agent, frame_agent) if agent is not None]
    try:
        env_kwargs = composed_kwargs(agents, dict(args.env_kwargs or {}))
    except ValueError as error:
        parser.error(str(error))
    config = gym.make(SLOT_ENV, **env_kwargs).unwrapped.config
    seeds = EVAL_SEEDS[: args.episodes]
    out = output.output_folder(args.out, NAME)

    traces: dict[str, Trace] = {}
    results = []
    for label, frame_policy, slot in combinations(slot_agent, frame_agent, config.slot_action):
        if isinstance(slot, str):
            slot = SlotBaselinePolicy(gym.make(SLOT_ENV, **env_kwargs), slot)
        print(f"  {label} ...", flush=True)
        traces[label] = run_combination(frame_policy, slot, env_kwargs, seeds)
        results.append(result_of(label, traces[label], seeds))
    rows = comparison_rows(results)
    for row in rows:
        trace = traces[row["policy"]]
        row["below_acc_min_percent"] = 100.0 * float(trace.below.mean())
    table = comparison_markdown(rows, results[0].protocol)
    below = "\n".join(f"| {row['policy']} | {row['below_acc_min_percent']:.2f} |" for row in rows)
    page = [
        "# Two-timescale system: frame and slot policies composed",
        "",
        f"`{output.command_line(__file__, argv)}`",
        "",
        f"{len(seeds)} test seeds ({seeds[0]}–{seeds[-1]}), env `{SLOT_ENV}` with "
        f"`{env_kwargs or 'defaults'}` (frames of {config.slots_per_frame} slots, "
        f"{config.frames_per_episode} frames, N = {config.num_mus}, M = {config.num_bs}). "
        "Policies are `frame + slot`. The cost is the mean slot objective (s): the delays "
        "summed over the MUs plus "
        f"{config.accuracy_penalty:g} × the summed accuracy violation; transmission, computation "
        "and retraining are its delay components (s per slot), accuracy the mean over MUs and "
        "slots, violation the summed max(0, acc_min − acc) per slot.",
        "",
        table,
        "Share of MU-slots below acc_min:",
        "",
        "| policy | below acc_min (%) |",
        "|---|---|",
        below,
        "",
        f"![cost and accuracy over time]({NAME}.png)",
        "",
        f"Load averages while it ran: {output.load_average()}.",
    ]
    output.write_markdown(out / f"{NAME}.md", page)
    output.write_csv(out / f"{NAME}.csv", rows)
    plot(traces, [row["policy"] for row in rows], config.slots_per_frame, out / f"{NAME}.png")
    print(table)
    print(f"Wrote {out / NAME}.md, .csv and .png")


if __name__ == "__main__":
    main()
