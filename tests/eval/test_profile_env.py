"""eval/profile_env.py profiles an env's steps and counts calls per step."""

from __future__ import annotations

from mec_gym.eval import profile_env


def test_the_profile_counts_calls_per_step(capsys):
    profile = profile_env.main(["--env", "BandwidthSplit-v0", "--steps", "50", "--top", "3"])
    first = capsys.readouterr().out.splitlines()[0]
    assert first.startswith("BandwidthSplit-v0: ") and "function calls per step" in first
    assert profile.calls_per_step > 1  # every step calls the env's step and more
    assert 0 < profile.numpy_calls_per_step < profile.calls_per_step
    assert len(profile.top) == 3
    shares = [share for _, share in profile.top]
    assert shares == sorted(shares, reverse=True) and 0 < sum(shares) <= 1 + 1e-9
