"""eval/benchmark.py: cells stored atomically, a killed benchmark resumes without replaying a
cell, agents from run folders, the table; on Ray (slow) the same table as in-process."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from mec_gym.eval import benchmark
from tests.training import tiny_argv

ENV_ID = "BandwidthSplit-v0"
ARGV = [
    "--env",
    ENV_ID,
    "--env-kwargs",
    "periods_per_episode=5",
    "--episodes",
    "3",
    "--no-tensorboard",
]


def played_cells(monkeypatch) -> list[tuple[str, int]]:
    """Record every (policy, seed) cell played from now on."""
    played: list[tuple[str, int]] = []
    original = benchmark.play_cells

    def recording(source, seeds):
        for cell in original(source, seeds):
            played.append((source.name, cell["seed"]))
            yield cell

    monkeypatch.setattr(benchmark, "play_cells", recording)
    return played


def test_a_killed_benchmark_resumes_without_replaying_a_cell(tmp_path, monkeypatch):
    """Killed inside the sixth cell's write (its temporary file written, not yet renamed): five
    complete cells, no partial one; started again, it plays only the missing cells and removes
    the temporary file."""
    out = tmp_path / "bench"
    played = played_cells(monkeypatch)
    real_replace = os.replace
    renamed = []

    def killed_at_the_sixth_rename(source, target):
        if str(target).endswith(".json"):
            if len(renamed) == 5:
                raise KeyboardInterrupt
            renamed.append(target)
        real_replace(source, target)

    monkeypatch.setattr(os, "replace", killed_at_the_sixth_rename)
    with pytest.raises(KeyboardInterrupt):
        benchmark.main([*ARGV, "--out", str(out)])
    monkeypatch.setattr(os, "replace", real_replace)
    stored = sorted(out.glob("cells/**/*.json"))
    assert len(stored) == 5
    for path in stored:
        json.loads(path.read_text())
    assert len(list(out.glob("cells/**/.*.tmp"))) == 1  # the sixth, never renamed
    first = set(played[:5])

    played.clear()
    benchmark.main([*ARGV, "--out", str(out)])
    assert not first & set(played)  # no stored cell played again
    assert not list(out.glob("cells/**/.*.tmp"))
    rows = list(csv.DictReader((out / "results.csv").open()))
    assert len(played) == 3 * len(rows) - len(stored)  # the rest, and only the rest
    assert all(int(row["episodes"]) == 3 for row in rows)
    played.clear()
    benchmark.main([*ARGV, "--out", str(out)])  # everything stored: nothing to play
    assert played == []
    text = (out / "results.md").read_text()
    assert "paired difference to the best baseline" in text and "python eval/benchmark.py" in text
    assert (out / f"{ENV_ID}_scores.png").is_file() and (out / f"{ENV_ID}_tradeoff.png").is_file()


def test_agents_come_from_run_folders_and_are_tabulated_beside_the_baselines(tmp_path):
    from mec_gym.train.cli import main as train

    argv = tiny_argv("ppo", ENV_ID, tmp_path / "runs")
    argv[argv.index("--env-kwargs") + 1] = "periods_per_episode=5"  # the baselines' problem
    run_dir = train("ppo", argv)
    out = benchmark.main([*ARGV, "--agents", str(run_dir), "--out", str(tmp_path / "bench")])
    rows = {row["policy"]: row for row in csv.DictReader((out / "results.csv").open())}
    assert rows["ppo_s0"]["kind"] == "agent" and "paired_diff" in rows["ppo_s0"]
    assert (out / f"{ENV_ID}_learning.png").is_file()


def test_an_agent_trained_on_another_problem_is_refused(tmp_path, capsys):
    from mec_gym.train.cli import main as train

    run_dir = train("ppo", tiny_argv("ppo", ENV_ID, tmp_path / "runs"))  # 20 periods, not 5
    with pytest.raises(SystemExit):
        benchmark.main([*ARGV, "--agents", str(run_dir), "--out", str(tmp_path / "bench")])
    line = capsys.readouterr().err.strip().splitlines()[-1]
    assert "'periods_per_episode': 20" in line and "pass the same --env-kwargs" in line
    other_env = ["--env", "PerTaskOffload-v1", "--episodes", "3", "--no-tensorboard"]
    with pytest.raises(SystemExit):
        benchmark.main([*other_env, "--agents", str(run_dir), "--out", str(tmp_path / "b2")])
    line = capsys.readouterr().err.strip().splitlines()[-1]
    assert "were trained on none of the --env ['PerTaskOffload-v1']" in line


def test_a_bad_agent_path_is_one_line(tmp_path, capsys):
    with pytest.raises(SystemExit):
        benchmark.main([*ARGV, "--agents", str(tmp_path)])
    assert "expected a run folder" in capsys.readouterr().err.strip().splitlines()[-1]


@pytest.mark.slow
def test_ray_cluster_runs_the_same_cells_and_table(tmp_path):
    pytest.importorskip("ray")
    ray_bin = Path(sys.executable).parent / "ray"
    subprocess.run(
        [str(ray_bin), "start", "--head", "--num-cpus", "2", "--disable-usage-stats"],
        check=True,
        capture_output=True,
    )
    try:
        on_ray = benchmark.main([*ARGV, "--address", "auto", "--out", str(tmp_path / "ray")])
    finally:
        subprocess.run([str(ray_bin), "stop", "--force"], check=True, capture_output=True)
    here = benchmark.main([*ARGV, "--out", str(tmp_path / "here")])
    timing = {"ms_per_decision"}

    def table(folder: Path) -> list[dict[str, str]]:
        rows = list(csv.DictReader((folder / "results.csv").open()))
        return [{k: v for k, v in row.items() if k not in timing} for row in rows]

    assert table(on_ray) == table(here)
    cells = sorted(p.relative_to(on_ray) for p in on_ray.glob("cells/**/*.json"))
    assert cells == sorted(p.relative_to(here) for p in here.glob("cells/**/*.json"))


def test_cells_are_not_reused_under_other_env_kwargs(tmp_path, monkeypatch):
    out = str(tmp_path / "bench")
    benchmark.main([*ARGV, "--out", out])
    played = played_cells(monkeypatch)
    other = [*ARGV]
    other[other.index("periods_per_episode=5")] = "periods_per_episode=6"
    benchmark.main([*other, "--out", out])
    assert len(played) == 18  # six baselines x three seeds, all played again


def test_a_rerun_from_scratch_reproduces_the_table_exactly(tmp_path):
    """The same command with empty cell folders gives the same table, bit for bit, except the
    wall-clock decision times."""
    tables = []
    for name in ("first", "second"):
        benchmark.main([*ARGV, "--out", str(tmp_path / name)])
        rows = list(csv.DictReader((tmp_path / name / "results.csv").open()))
        tables.append([{k: v for k, v in row.items() if k != "ms_per_decision"} for row in rows])
    assert tables[0] == tables[1] and len(tables[0]) > 3


def _cells(scores, components):
    return [
        {
            "seed": 10_000 + i,
            "score": score,
            "components": dict.fromkeys(components, 1.0),
            "decisions": 1,
            "seconds_in_predict": 0.0,
        }
        for i, score in enumerate(scores)
    ]


def test_seed_groups_carry_the_ci_over_the_training_seeds_and_split_formulations():
    from scipy import stats

    from mec_gym.eval.evaluation import protocol_for

    env_id = "JointOffload-v1"  # cost: lower is better; action_mode is its formulation
    protocol = protocol_for(env_id)

    def agent(seed, **kwargs):
        name = f"ppo_s{seed}"
        return benchmark.PolicySource(env_id, name, "agent", kwargs, algo="ppo", model=name)

    baseline = benchmark.PolicySource(env_id, "best", "baseline")
    cells = {baseline: _cells([1.0, 2.0, 3.0], protocol.components)}
    offsets = {0: 0.1, 1: 0.4, 2: -0.2}
    for seed, offset in offsets.items():
        cells[agent(seed)] = _cells(
            [1.0 + offset, 2.0 + offset, 3.0 + 2 * offset], protocol.components
        )
    rows = {row["policy"]: row for row in benchmark.summary_rows(protocol, cells)}
    group = rows["ppo (3 seeds)"]
    differences = [-offset * 4 / 3 for offset in offsets.values()]  # cost: sign -1
    assert group["seeds_paired_diff"] == pytest.approx(sum(differences) / 3)
    half = stats.t.ppf(0.975, 2) * stats.sem(differences)
    assert group["seeds_paired_diff_ci95"] == pytest.approx(half)
    assert (group["seeds_min"], group["seeds_max"]) == pytest.approx(
        (2.0 - 0.2 * 4 / 3, 2.0 + 0.4 * 4 / 3)
    )
    assert "seeds_paired_diff" not in rows["ppo_s0"]
    page = benchmark.markdown_section(env_id, protocol, list(rows.values()))
    assert "the same over the training seeds (95% CI)" in page

    for seed in (0, 1):  # two more runs, in another formulation: their own group
        cells[agent(seed, action_mode="full")] = _cells([1.0, 2.0, 3.0], protocol.components)
    names = {row["policy"] for row in benchmark.summary_rows(protocol, cells)}
    assert {"ppo [defaults] (3 seeds)", "ppo [action_mode=full] (2 seeds)"} <= names
    assert benchmark.duplicate_agents([agent(0), agent(1), agent(0)]) == [f"{env_id} ppo_s0"]
    assert benchmark.duplicate_agents([agent(0), agent(0, action_mode="full")]) == []


def test_cells_are_keyed_by_the_package_versions_too(monkeypatch):
    benchmark.code_digest.cache_clear()
    now = benchmark.code_digest()
    versions = {**benchmark.output.package_versions(), "torch": "another release"}
    monkeypatch.setattr(benchmark.output, "package_versions", lambda: versions)
    benchmark.code_digest.cache_clear()
    try:
        assert benchmark.code_digest() != now
    finally:
        monkeypatch.undo()
        benchmark.code_digest.cache_clear()
    assert benchmark.code_digest() == now


def test_a_config_without_the_run_keys_and_a_group_without_members_are_refused(tmp_path):
    (tmp_path / "best_model.zip").write_bytes(b"")
    (tmp_path / "config.yaml").write_text("env_id: BandwidthSplit-v0\n")
    with pytest.raises(ValueError, match=r"lacks \['algo', 'seed'\]"):
        benchmark.agent_source(tmp_path)
    group = {"env": ENV_ID, "policy": "ppo (3 seeds)", "kind": "agents", "group": "", "score": 1.0}
    with pytest.raises(ValueError, match="no member rows"):
        benchmark.with_seed_statistics([group])
