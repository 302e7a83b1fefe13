"""The bandwidth split sweeps: every point solved, the optimum never below a rule."""

from __future__ import annotations

import csv

from mec_gym.eval import bandwidth_split_sweeps
from mec_gym.solvers.bandwidth_split import BASELINES


def test_the_sweeps_write_their_outputs_and_the_optimum_wins_everywhere(tmp_path):
    bandwidth_split_sweeps.main(["--out", str(tmp_path / "sweeps")])
    folder = tmp_path / "sweeps"
    for suffix in ("md", "csv", "png"):
        assert (folder / f"bandwidth_split_sweeps.{suffix}").is_file()
    rows = list(csv.DictReader((folder / "bandwidth_split_sweeps.csv").open()))
    assert len(rows) == len(bandwidth_split_sweeps.BANDWIDTHS_MHZ) + len(
        bandwidth_split_sweeps.DATA_SIZES
    )
    for row in rows:
        for name in BASELINES:
            assert float(row["optimum"]) >= float(row[name]) - 1e-12
        assert float(row["gain_over_best_rule_percent"]) >= -1e-9
    # more bandwidth never lowers the optimum
    optimum = [float(r["optimum"]) for r in rows if r["sweep"] == "bandwidth_mhz"]
    assert optimum == sorted(optimum)


def test_a_bad_distance_is_a_one_line_error(tmp_path, capsys):
    import pytest

    with pytest.raises(SystemExit):
        bandwidth_split_sweeps.main(["--distance", "-5", "--out", str(tmp_path / "x")])
    assert "distance_m" in capsys.readouterr().err
