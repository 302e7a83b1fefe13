"""The documentation site (mkdocs.yml, docs/hooks.py): it builds with --strict, every registered
ID has a page, and no page cites a path outside the repository."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

from mec_gym.registration import ENVS

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
OUTSIDE = "shared/spec"
"""The specification's folder: not in the repository, so no page may cite it."""


@pytest.fixture(scope="module")
def hooks():
    spec = importlib.util.spec_from_file_location("mec_gym_docs_hooks", DOCS / "hooks.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_registered_id_has_a_page(hooks):
    pages = hooks.generated_pages()
    nav = hooks.nav_expansions()["envs/index.md"]
    for env_id, entry in ENVS.items():
        page = pages[f"envs/{env_id}.md"]
        assert f"::: {entry.entry_point.replace(':', '.')}" in page
        assert {env_id: f"envs/{env_id}.md"} in nav
        assert f"]({env_id}.md)" in pages["envs/index.md"]
        system = hooks.env_system(env_id)  # a KeyError: add the env module to SYSTEM_OF_MODULE
        assert (DOCS / f"{system}.md").is_file()
        assert hooks.SYSTEMS[system]["source"] in page


def test_no_page_cites_a_path_outside_the_repository(hooks):
    written = {path.relative_to(DOCS).as_posix(): path.read_text() for path in DOCS.rglob("*.md")}
    for name, text in {**written, **hooks.generated_pages()}.items():
        assert OUTSIDE not in text, name


def test_no_docstring_cites_a_path_outside_the_repository():
    """The API pages come from the docstrings: they cite the model pages under docs/."""
    root = DOCS.parent
    for folder in ("mec_gym", "agents", "train", "eval", "examples"):
        for path in (root / folder).rglob("*.py"):
            assert OUTSIDE not in path.read_text(), path


def test_generated_pages_follow_the_benchmark_output(hooks, tmp_path):
    docs = tmp_path / "docs"
    docs.mkdir()
    env_id = "JointOffload-v1"
    assert "No benchmark output yet" in hooks.env_page(env_id, docs)
    assert "`make benchmark` writes it" in hooks.reports_page(docs)
    assert hooks.nav_expansions(docs)["reports.md"] == ["reports.md"]

    (docs / "results").mkdir()
    (docs / "results" / "results.md").write_text(
        "# Benchmark\n\nheader\n\n## JointOffload-v1\n\n| policy | cost |\n|---|---|\n"
        f"| bound | -0.43 |\n\n![scores]({env_id}_scores.png)\n\n## PerTaskOffload-v1\n\nother\n"
    )
    (docs / "RESULTS.md").write_text("# Results\n")
    (docs / "PERFORMANCE.md").write_text("# Performance\n")
    page = hooks.env_page(env_id, docs)
    assert "| bound | -0.43 |" in page and "other" not in page
    assert f"![scores](../results/{env_id}_scores.png)" in page
    assert "[Results](RESULTS.md)" in hooks.reports_page(docs)
    assert "[Benchmark](results/results.md)" in hooks.reports_page(docs)
    nav = hooks.nav_expansions(docs)["reports.md"]
    assert nav == ["reports.md", "RESULTS.md", "PERFORMANCE.md"]


def test_docstring_html_fixes(hooks):
    html = (
        "see :class:<code>~mec_gym.problems.joint_offload.JointOffloadProblem</code> and "
        ":func:<code>mec_gym.models.channel.\nrate</code>; "
        "model <code>docs/joint_offload.md</code>."
    )
    fixed = hooks.fix_html(html, {"joint_offload": "../../joint_offload/"})
    assert ":class:" not in fixed and ":func:" not in fixed and OUTSIDE not in fixed
    assert (
        '<autoref identifier="mec_gym.problems.joint_offload.JointOffloadProblem" optional>'
        "<code>JointOffloadProblem</code></autoref>"
    ) in fixed
    assert "<code>mec_gym.models.channel.rate</code>" in fixed
    assert 'model: <a href="../../joint_offload/"' in fixed and "docs/" not in fixed


def test_the_site_builds_strictly(tmp_path):
    """``mkdocs build --strict`` (what ``make docs`` runs): a broken link, cross-reference or
    docstring fails it. About 20-40 s on 2 loaded cores."""
    pytest.importorskip("mkdocs")
    pytest.importorskip("material")
    pytest.importorskip("mkdocstrings_handlers.python")
    site = tmp_path / "site"
    command = [sys.executable, "-m", "mkdocs", "build", "--strict", "-f", "mkdocs.yml"]
    result = subprocess.run(
        [*command, "-d", str(site)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1", "DISABLE_MKDOCS_2_WARNING": "true"},
        timeout=600,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    for env_id in ENVS:
        assert (site / "envs" / env_id / "index.html").is_file(), env_id
    for package in ("mec_gym.solvers", "mec_gym.twins"):
        assert (site / "reference" / package / "index.html").is_file(), package
    for page in site.rglob("*.html"):
        assert OUTSIDE not in page.read_text(), page
