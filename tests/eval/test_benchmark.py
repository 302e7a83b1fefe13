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
