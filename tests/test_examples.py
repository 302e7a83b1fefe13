"""The examples in ``examples/`` run, print what they promise and use public APIs only.

Each example runs in a subprocess with ``--quick`` (as a user would start it), from a temporary
working directory, and must exit with status 0, print its result line and leave the checkout
as it was. ``examples/rllib_ppo.py`` needs the ``rllib`` extra and has its own slow test
(``tests/test_rllib_example.py``); here it is only held to the public-API rule.
"""

from __future__ import annotations

import ast
import importlib
import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"

RUNS = {
    # example: (arguments, a pattern its output must contain)
    "use_solver.py": (
        ["--quick"],
        r"total cost of admm: -?\d+\.\d+ \(mean per device -?\d+\.\d+\)",
    ),
    "compare_baselines.py": (
        ["--quick"],
        r"my_rule vs lookahead: [+-]\d+\.\d+ ± \d+\.\d+ map \(paired, 95% CI",
    ),
    "custom_generator.py": (
        ["--quick"],
        r"hotspot +admm +-?\d+\.\d+ ± \d+\.\d+ +\d\.\d\d",
    ),
    "train_sb3.py": (
        ["--quick"],
        r"ppo +cost -?\d+\.\d+ ± \d+\.\d+ \(lower is better, 3 test seeds\)",
    ),
}
"""Every example except ``rllib_ppo.py``; each needs well under 30 s with ``--quick``."""

NEEDS = {"train_sb3.py": ("torch", "stable_baselines3"), "use_solver.py": ("cvxpy", "numba")}
"""Extras an example imports (the test is skipped without them)."""


def test_every_example_is_run():
    scripts = {path.name for path in EXAMPLES.glob("*.py")}
    assert scripts - {"rllib_ppo.py"} == set(RUNS)


def git_status() -> str:
    try:
        result = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=all", "--", "."],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=60,
        )
    except (OSError, subprocess.SubprocessError):
        return ""
    return result.stdout if result.returncode == 0 else ""


@pytest.mark.parametrize("script", sorted(RUNS))
def test_example_runs_quick(script, tmp_path):
    for module in NEEDS.get(script, ()):
        pytest.importorskip(module)
    arguments, pattern = RUNS[script]
    before = git_status()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "MPLBACKEND": "Agg"}
    result = subprocess.run(
        [sys.executable, str(EXAMPLES / script), *arguments],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert re.search(pattern, result.stdout), result.stdout[-3000:]
    assert not list(tmp_path.iterdir()), "an example wrote into its working directory"
    # other files of the checkout may change meanwhile (shared checkout): only examples/ counts
    changed = [line for line in git_status().splitlines() if line not in before.splitlines()]
    assert not [line for line in changed if "examples/" in line], changed


def is_public(module: str, name: str) -> bool:
    """Whether ``from module import name`` takes a public name: one in the module's
    ``__all__`` (any non-underscore name if it has none), or a submodule of a package."""
    if name.startswith("_"):
        return False
    loaded = importlib.import_module(module)
    if hasattr(loaded, "__path__") and importlib.util.find_spec(f"{module}.{name}"):
        return True
    return name in getattr(loaded, "__all__", [name])


@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("*.py")), ids=lambda p: p.name)
def test_examples_use_public_apis(path):
    """No ``_private`` attribute or module, and every name imported from mec_gym is in its
    module's ``__all__``."""
    hits = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Attribute) and node.attr.startswith("_"):
            owner = node.value
            own = isinstance(owner, ast.Name) and owner.id in ("self", "cls")
            if not own and not node.attr.startswith("__"):
                hits.append(f"line {node.lineno}: {ast.unparse(node)}")
        elif isinstance(node, ast.ImportFrom) and node.module:
            private = (p for p in node.module.split(".") if not p.startswith("__"))
            if any(part.startswith("_") for part in private):
                hits.append(f"line {node.lineno}: from {node.module}")
            if node.module.partition(".")[0] == "mec_gym":
                hits += [
                    f"line {node.lineno}: {alias.name} is not in {node.module}.__all__"
                    for alias in node.names
                    if not is_public(node.module, alias.name)
                ]
    assert not hits, hits
