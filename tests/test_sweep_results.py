"""train/sweep.py (finished seeds kept, checkpointed ones resumed) and eval/results.py (the
results page of trained agents and baselines) with tiny budgets."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from mec_gym.eval import results
from mec_gym.train.cli import parse_args
from mec_gym.train.sweep import COMPARED_SETTINGS, Sweep, latest_run, matching_run

ENV_ID = "BandwidthSplit-v0"
TINY = [
    "--n-envs",
    "1",
    "--eval-episodes",
    "1",
    "--no-baselines",
    "--env-kwargs",
    "periods_per_episode=5",
    "--hyperparams",
    "n_steps=32",
    "batch_size=32",
    "n_epochs=1",
]


def sweep_of(logdir: Path, timesteps: int = 64) -> Sweep:
    return Sweep("ppo", ENV_ID, (0, 1, 2), logdir, timesteps, tuple(TINY))


def fake_run(logdir: Path, seed: int, stamp: str, *files: str, timesteps: int = 64) -> Path:
    """A run folder with the config.yaml of ``seed``'s settings and empty ``files``."""
    args = parse_args("ppo", sweep_of(logdir, timesteps).new_run_argv(seed))
    config = {name: getattr(args, name) for name in COMPARED_SETTINGS}
    run = logdir / ENV_ID / f"ppo_s{seed}_{stamp}"
    run.mkdir(parents=True)
    (run / "config.yaml").write_text(yaml.safe_dump({**config, "algo": "ppo"}))
    for name in files:
        (run / name).parent.mkdir(parents=True, exist_ok=True)
        (run / name).write_text("")
    return run


def test_a_seed_counts_only_runs_with_its_settings(tmp_path):
    """Finished: skipped; checkpointed: resumed; else, or made with other settings (another
    budget), a new run."""
    fake_run(tmp_path, 0, "20260101-000000", "comparison.md")
    stopped = fake_run(tmp_path, 1, "20260101-000000", "checkpoint/state.yaml")
    fake_run(tmp_path, 2, "20260101-000000")  # killed before its first checkpoint
    sweep = sweep_of(tmp_path)
    assert sweep.seed_argv(0) is None
    assert sweep.seed_argv(1) == ["--resume", str(stopped)]
    assert sweep.seed_argv(2) == sweep.new_run_argv(2)
    longer = sweep_of(tmp_path, 128)  # a finished 64-step run does not count for 128 steps
    assert longer.seed_argv(0) == longer.new_run_argv(0)
    newer = fake_run(tmp_path, 0, "20260101-000001", timesteps=128)
    assert latest_run(tmp_path, ENV_ID, "ppo", 0) == newer
    assert matching_run(tmp_path, ENV_ID, "ppo", sweep.new_run_argv(0)) != newer
    assert sweep.jobs() == [("ppo", ["--resume", str(stopped)]), ("ppo", sweep.new_run_argv(2))]


def test_a_sweep_trains_each_seed_once(tmp_path):
    sweep = sweep_of(tmp_path)
    runs = sweep.run()
    assert [run.name.split("_")[1] for run in runs] == ["s0", "s1", "s2"]
    assert all((run / "comparison.md").is_file() for run in runs)
    assert sweep.run() == runs
    assert len(list((tmp_path / ENV_ID).iterdir())) == 3


def test_the_results_page_holds_each_algorithm_over_its_seeds(tmp_path):
    out = results.main(
        [
            "--env",
            ENV_ID,
            "--algo",
            "ppo",
            "dqn",
            "--timesteps",
            "64",
            "--episodes",
            "2",
            "--logdir",
            str(tmp_path / "runs"),
            "--out",
            str(tmp_path / "docs"),
            "--",
            *TINY,
        ]
    )
    page = (out / "RESULTS.md").read_text()
    assert "| ppo (3 seeds) |" in page and "lookahead" in page  # dqn does not fit Box actions
    assert "dqn" not in page.split("## ")[1]
    assert "python eval/results.py" in page and "CPUs" in page
    assert (out / "results" / f"{ENV_ID}_scores.png").is_file()
    group = page.split("| ppo (3 seeds) |")[1].split("\n")[0]
    assert group.count("±") == 3  # the score, the paired difference and the same over the seeds
    csv_text = (out / "results" / "results.csv").read_text()
    bench_page = (out / "results" / "results.md").read_text()
    for _ in range(2):  # rendered again from results.csv: the same tables, one line saying so
        results.main(["--from-csv", "--out", str(out)])
        again = (out / "RESULTS.md").read_text()
        assert again.count(results.RERENDERED) == 1
        assert again.split("\n## ", 1)[1] == page.split("\n## ", 1)[1]
        assert again.split(results.RERENDERED)[0] == page.split("\n## ", 1)[0].rstrip() + "\n\n"
        assert (out / "results" / "results.csv").read_text() == csv_text
        bench_again = (out / "results" / "results.md").read_text()
        assert bench_again.split("\n## ", 1)[1] == bench_page.split("\n## ", 1)[1]
        assert bench_again.count(results.RERENDERED) == 1
    before = {row["policy"]: row for row in rows_from_csv(out)}
    results.main(
        ["--from-csv", "--replay-baselines", "--logdir", str(tmp_path / "runs")]
        + ["--out", str(out), "--", *TINY]
    )
    after = {row["policy"]: row for row in rows_from_csv(out)}
    assert after.keys() == before.keys()
    assert after == before  # no baseline of BandwidthSplit-v0 moved: every row kept whole
    replayed_page = (out / "RESULTS.md").read_text()
    assert "the baselines played again" in replayed_page and "-- --n-envs" in replayed_page
    assert replayed_page.count(results.RERENDERED) == 1  # the plain line replaced
    results.main(["--from-csv", "--out", str(out)])  # a later plain one keeps the replay's line
    final = (out / "RESULTS.md").read_text()
    assert final.count(results.RERENDERED) == 2 and "the baselines played again" in final
    with pytest.raises(SystemExit):
        results.main(["--from-csv", "--env", ENV_ID, "--out", str(out)])


def rows_from_csv(out: Path) -> list[dict]:
    from mec_gym.eval.benchmark import rows_from_csv as read

    return [row for rows in read(out / "results" / "results.csv").values() for row in rows]


def test_replayed_baselines_replace_the_old_and_a_moved_reference_is_refused():
    def row(policy, kind, score, reference=None):
        values = {"env": "BandwidthSplit-v0", "policy": policy, "kind": kind, "group": ""}
        values |= {"episodes": 3, "score": score, "ms_per_decision": 1.0}
        return values | ({"reference": reference} if reference else {})

    rows = [row("best", "baseline", 0.5, "other"), row("ppo_s0", "agent", 0.4, "best")]
    rows.append(row("other", "baseline", 0.3, "best"))
    replayed = [row("best", "baseline", 0.5, "other"), row("other", "baseline", 0.45, "best")]
    replayed[0]["ms_per_decision"] = 2.0
    merged, moved = results.merged_rows("BandwidthSplit-v0", rows, replayed)
    assert [(r["policy"], r["score"]) for r in merged] == [
        ("best", 0.5),
        ("other", 0.45),
        ("ppo_s0", 0.4),
    ]
    assert moved == ["other"] and merged[0] is rows[0]  # an unmoved row kept, its timing too
    overtaken = [row("best", "baseline", 0.5, "other"), row("other", "baseline", 0.55, "best")]
    shifted = [row("best", "baseline", 0.51, "other"), row("other", "baseline", 0.3, "best")]
    for bad in (overtaken, shifted):
        with pytest.raises(ValueError, match="best, the reference of ppo_s0, scores differently"):
            results.merged_rows("BandwidthSplit-v0", rows, bad)
    nan = [dict(r, score_ci95=float("nan")) for r in rows]  # 1 episode: no CI
    assert (
        results.merged_rows("BandwidthSplit-v0", nan, [r for r in nan if r["kind"] == "baseline"])[
            1
        ]
        == []
    )
    with pytest.raises(ValueError, match="the baselines are now"):
        results.merged_rows("BandwidthSplit-v0", rows, replayed[:1])


def test_a_sweep_without_ray_runs_every_seed_and_reports_the_failures(monkeypatch):
    from mec_gym.train import sweep

    started = []

    def train_seed(algo, argv):
        started.append(argv[-1])
        if argv[-1] == "0":
            raise SystemExit(2)  # a one-line argument error of train/<algo>.py
        if argv[-1] == "1":
            raise RuntimeError("diverged")

    monkeypatch.setattr(sweep, "train_seed", train_seed)
    monkeypatch.setattr("mec_gym.train.cli.parse_args", lambda algo, argv: None)
    jobs = [("ppo", ["--seed", str(seed)]) for seed in range(3)]
    with pytest.raises(RuntimeError, match="2 of 3 runs failed") as error:
        sweep.run_trainings(jobs)
    assert started == ["0", "1", "2"] and "diverged" in str(error.value)
    started.clear()
    monkeypatch.setattr(
        sweep, "train_seed", lambda algo, argv: [started.append(argv[-1]), exit(130)]
    )
    with pytest.raises(SystemExit) as stopped:  # Ctrl-C: the run checkpointed, the sweep stops
        sweep.run_trainings(jobs)
    assert stopped.value.code == 130 and started == ["0"]


def results_folder(path: Path, by_env: dict[str, list[dict]], head: str) -> Path:
    """A folder as ``--out`` holds the pages: ``results/results.csv`` with ``by_env`` and a
    ``RESULTS.md`` whose header is ``head``."""
    from mec_gym.eval import output

    (path / "results").mkdir(parents=True)
    output.write_csv(
        path / "results" / "results.csv", [r for rows in by_env.values() for r in rows]
    )
    (path / "RESULTS.md").write_text(head + "\n\n## old tables\n")
    return path


def test_an_update_replaces_the_rows_and_plots_of_its_envs_only(tmp_path):
    from mec_gym.eval.benchmark import rows_from_csv as read

    published = read(Path(__file__).parents[1] / "docs" / "results" / "results.csv")
    kept, updated = "MultiStepOffload-v1", "BandwidthSplit-v0"
    moved = [
        {**row, "score": row["score"] + 0.01} if row["policy"] == "ppo_s0" else row
        for row in published[updated]
    ]
    head = "# Results\n\nGenerated by x.\n\nTables re-rendered from y by z: the same rows."
    out = results_folder(
        tmp_path / "docs", {kept: published[kept], updated: published[updated]}, head
    )
    (out / "results" / f"{updated}_learning.png").write_bytes(b"old")
    bench = results_folder(tmp_path / "bench", {updated: moved}, "# Benchmark")
    (bench / "results" / f"{updated}_scores.png").write_bytes(b"new")
    with pytest.raises(ValueError, match="no rows of"):
        results.replace_envs(out, bench / "results", [kept], "cmd", tmp_path, 0.0)
    assert (out / "RESULTS.md").read_text().endswith("## old tables\n")  # nothing written
    results.replace_envs(
        out, bench / "results", [updated], "python eval/results.py --update", tmp_path, 0.25
    )
    after = read(out / "results" / "results.csv")
    assert after[kept] == published[kept]
    ppo_s0 = next(row for row in after[updated] if row["policy"] == "ppo_s0")
    assert ppo_s0["score"] == next(r for r in moved if r["policy"] == "ppo_s0")["score"]
    group = next(row for row in after[updated] if row["policy"] == "ppo (3 seeds)")
    old_group = next(row for row in published[updated] if row["policy"] == "ppo (3 seeds)")
    assert group["seeds_max"] != old_group["seeds_max"]  # the seed statistics recomputed
    page = (out / "RESULTS.md").read_text()
    assert "Tables re-rendered from y" in page  # an earlier note is kept
    assert f"{results.UPDATED} on " in page and "0.2 h" in page and updated in page
    assert f"## {kept}" in page and f"## {updated}" in page and "old tables" not in page
    assert (out / "results" / f"{updated}_scores.png").read_bytes() == b"new"
    assert not (out / "results" / f"{updated}_learning.png").exists()  # the bench has none
    first_line = results.header_paragraphs(out / "RESULTS.md")[-1]
    assert first_line.startswith(results.UPDATED)
    for command in (
        "python eval/results.py --update --env other",
        "python eval/results.py --update",
    ):
        results.replace_envs(out, bench / "results", [updated], command, tmp_path, 0.25)
    # the same update again: its line moved to the end
    head = results.header_paragraphs(out / "RESULTS.md")
    assert head.count(first_line) == 1
    assert head[-1] == first_line
    assert "--env other" in head[-2]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--update", "--out", "docs"], "needs --env"),
        (["--update", "--env", ENV_ID], "needs --out"),
        (["--update", "--from-csv", "--env", ENV_ID, "--out", "docs"], "drop --from-csv"),
        (["--update", "--env", ENV_ID, "--algo", "ppo", "--out", "docs"], "drop --algo"),
        (["--update", "--env", ENV_ID, "--timesteps", "64", "--out", "docs"], "keeps the page"),
        (["--seeds", "0", "0", "1"], "each training seed once, got [0]"),
    ],
)
def test_a_bad_update_command_exits_with_its_error(argv, message, capsys):
    with pytest.raises(SystemExit):
        results.main(argv)
    assert message in capsys.readouterr().err


def test_a_sweep_refuses_a_repeated_seed(capsys):
    from mec_gym.train import sweep

    with pytest.raises(SystemExit):
        sweep.main(["--algo", "ppo", "--env", ENV_ID, "--seeds", "1", "2", "1"])
    assert "each training seed once, got [1]" in capsys.readouterr().err
