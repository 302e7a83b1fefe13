"""MkDocs hooks of the documentation site (``hooks:`` in mkdocs.yml): the generated pages.

Generated at every build, never written into docs/ (so they cannot go stale):

- ``envs/index.md`` and ``envs/<ID>.md``, one page per ID of ``mec_gym.registration.ENVS``:
  the registration (class, kwargs and preset, vector env, time limit, baselines, evaluation),
  the system model and its source paper, a rendered frame (``docs/assets/frames/<ID>.png``,
  written by ``docs/gen_frames.py``, ``make docs-frames``), the class docstring (description,
  spaces, reward, arguments, version history) through mkdocstrings, and the ID's baseline table
  from the benchmark output (``docs/results/results.md``, written by ``make benchmark``) when
  it is there;
- ``reference/``: one API page per module of the solvers, twins, problems, simulators and
  models;
- ``reports.md``: links to the pages the benchmarks and experiments wrote into docs/
  (``RESULTS.md`` and ``PERFORMANCE.md`` only when ``make benchmark`` / ``make performance``
  produced them).

The nav entries ``envs/index.md``, ``reference/index.md`` and ``reports.md`` of mkdocs.yml are
expanded with the generated pages. Docstrings rendered by mkdocstrings get two fixes in the HTML:
Sphinx roles (``:class:`~a.b.C```) become cross-references, and a docstring's citation of the
specification (a file outside the repository) becomes a link to the system's model page, which
names the source paper.
"""

from __future__ import annotations

import importlib
import json
import posixpath
import re
from pathlib import Path
from typing import Any

DOCS = Path(__file__).resolve().parent
ROOT = DOCS.parent
FRAMES = "assets/frames"
"""Folder (in docs/) of the rendered frames, ``<ID>.png``."""
BENCHMARK = "results/results.md"
"""The benchmark's table in docs/ (``eval/results.py`` via ``eval/benchmark.py``)."""
GENERATED_REPORTS = {
    "RESULTS.md": (
        "make benchmark",
        "every environment × every algorithm that fits it × every baseline on the fixed test "
        "seeds (eval/results.py)",
    ),
    "PERFORMANCE.md": (
        "make performance",
        "every speed target, measured, with profiles (eval/performance.py)",
    ),
}
"""Pages written later by make targets: linked when present, named with their command when not."""

SYSTEMS: dict[str, dict[str, str]] = {
    "joint_offload": {
        "title": "Joint offloading of video inference in a multi-user MEC cell",
        "source": 'G. Pan, H. Zhang, S. Xu, S. Zhang, X. Chen, "Joint Optimization of Video-based '
        'AI Inference Tasks in MEC-assisted Augmented Reality Systems", IEEE Transactions on '
        "Cognitive Communications and Networking 9(2), 2023 (arXiv 2301.01010)",
        "short": "Pan et al. (2023)",
    },
    "multistep_offload": {
        "title": "Multi-step device-edge collaboration with digital twins",
        "source": 'S. Hu, M. Li, J. Gao, C. Zhou, X. Shen, "Adaptive Device-Edge Collaboration on '
        'DNN Inference in AIoT: A Digital Twin-Assisted Approach", IEEE Internet of Things '
        "Journal (arXiv 2405.17664)",
        "short": "Hu et al.",
    },
    "bandwidth_split": {
        "title": "One link for data upload and model download",
        "source": 'D. Yang, S. Zhang, H. Zhang, L. Song, "End-Edge Model Collaboration: Bandwidth '
        'Allocation for Data Upload and Model Transmission" (arXiv 2504.14310)',
        "short": "Yang et al.",
    },
    "two_timescale": {
        "title": "Two-timescale DT-assisted inference and retraining",
        "source": 'J. Cong, G. Cheng, C. You, X. Huang, W. Wu, "Two-Timescale Digital Twin '
        'Assisted Model Interference and Retraining over Wireless Network" (arXiv 2411.18329)',
        "short": "Cong et al.",
    },
}
"""The four systems: their model page (``docs/<key>.md``) and source paper."""
SYSTEM_OF_MODULE = {
    "joint_offload": "joint_offload",
    "per_task_offload": "joint_offload",
    "multistep_offload": "multistep_offload",
    "bandwidth_split": "bandwidth_split",
    "two_timescale": "two_timescale",
    "two_timescale_frame": "two_timescale",
}
"""Env module (``mec_gym.envs.<name>``) -> its system (a key of ``SYSTEMS``)."""
REFERENCE_PACKAGES = {
    "mec_gym.solvers": "Solvers",
    "mec_gym.twins": "Digital twins",
    "mec_gym.problems": "Problems",
    "mec_gym.simulators": "Simulators",
    "mec_gym.models": "Models",
}
"""Packages of the API reference, one page per module."""


# ------------------------------------------------------------------------------ env pages
def env_class(env_id: str) -> type:
    """The class registered for ``env_id``."""
    from mec_gym.registration import ENVS

    module, name = ENVS[env_id].entry_point.split(":")
    return getattr(importlib.import_module(module), name)


def env_system(env_id: str) -> str:
    """The key in ``SYSTEMS`` of the system ``env_id`` belongs to."""
    from mec_gym.registration import ENVS

    module = ENVS[env_id].entry_point.split(":")[0].rsplit(".", 1)[-1]
    return SYSTEM_OF_MODULE[module]


def env_page_path(env_id: str) -> str:
    """The page of ``env_id``, relative to docs/."""
    return f"envs/{env_id}.md"


def relative_links(markdown: str, prefix: str) -> str:
    """``markdown`` with every relative link and image target prefixed by ``prefix``."""

    def relative(match: re.Match[str]) -> str:
        target = match.group(2)
        if "://" in target or target.startswith(("/", "#")):
            return match.group(0)
        return f"{match.group(1)}({prefix}{target})"

    return re.sub(r"(!?\[[^\]]*\])\(([^)\s]+)\)", relative, markdown)


def benchmark_section(env_id: str, docs: Path = DOCS) -> str | None:
    """The ID's section of the benchmark table, its plot links made relative to envs/, or None
    when there is no benchmark output (or no section for the ID)."""
    path = docs / BENCHMARK
    if not path.is_file():
        return None
    for section in re.split(r"^## ", path.read_text(), flags=re.MULTILINE)[1:]:
        heading, _, body = section.partition("\n")
        if heading.strip() == env_id:
            return relative_links(body, f"../{posixpath.dirname(BENCHMARK)}/").strip()
    return None


def _code(value: Any) -> str:
    return f"`{json.dumps(value) if not isinstance(value, str) else value}`"


def env_page(env_id: str, docs: Path = DOCS) -> str:
    """The Markdown of the page of ``env_id``."""
    from mec_gym.registration import ENVS

    entry = ENVS[env_id]
    cls = env_class(env_id)
    system = env_system(env_id)
    evaluation = cls.metadata.get("evaluation", {})
    rows = [("class", f"`{cls.__module__}.{cls.__qualname__}`")]
    kwargs = dict(entry.kwargs)
    rows.append(("registered kwargs", _code(kwargs) if kwargs else "none (the config defaults)"))
    presets = getattr(cls, "presets", {})
    if presets:
        preset = kwargs.get("preset", getattr(cls, "default_preset", None))
        if preset in presets:
            overrides = dict(presets[preset])
            rows.append((f"preset `{preset}`", _code(overrides) if overrides else "`{}`"))
        rows.append(("presets (`preset=`)", ", ".join(f"`{name}`" for name in presets)))
    if entry.vector_entry_point:
        rows.append(
            (
                "native vector env",
                f"`{entry.vector_entry_point.replace(':', '.')}` "
                '(`gymnasium.make_vec(id, n, vectorization_mode="vector_entry_point")`)',
            )
        )
    rows.append(
        (
            "episode end",
            f"`TimeLimit` of {entry.max_episode_steps} steps (`max_episode_steps`)"
            if entry.max_episode_steps
            else "the env truncates its episodes itself",
        )
    )
    rows.append(("baselines", f"`{entry.baselines}`"))
    if evaluation:
        direction = "higher" if evaluation["higher_is_better"] else "lower"
        components = ", ".join(
            f"`{name}`" + (f" ({unit})" if unit else "")
            for name, unit in zip(evaluation["components"], evaluation["units"], strict=True)
        )
        rows.append(("score", f"`info['{evaluation['score']}']`, {direction} is better"))
        rows.append(("score components", components))
    rows.append(("evaluation", f"{entry.eval_episodes} episodes on the fixed test seeds"))
    if entry.formulation_kwargs:
        rows.append(("formulation fields", ", ".join(f"`{k}`" for k in entry.formulation_kwargs)))
    rows.append(("render modes", ", ".join(f"`{m}`" for m in cls.metadata.get("render_modes", []))))
    info = SYSTEMS[system]
    rows.append(("system model", f"[{info['title']}](../{system}.md)"))
    rows.append(("source paper", info["source"]))

    frame = f"{FRAMES}/{env_id}.png"
    lines = [f"# {env_id}", ""]
    if (docs / frame).is_file():
        lines += [f"![A frame of {env_id}](../{frame})", ""]
    lines += [
        f"::: {cls.__module__}.{cls.__qualname__}",
        "    options:",
        "      show_root_heading: false",
        "      show_root_toc_entry: false",
        "      show_bases: false",
        "      members: false",
        "",
        "## Registration",
        "",
        "```python",
        "import gymnasium as gym",
        "import mec_gym  # registers the IDs",
        "",
        f'env = gym.make("{env_id}", render_mode="rgb_array")',
        "obs, info = env.reset(seed=0)",
        "obs, reward, terminated, truncated, info = env.step(env.action_space.sample())",
        "frame = env.render()  # an RGB array",
        "```",
        "",
        "| | |",
        "|---|---|",
        *(f"| {key} | {value} |" for key, value in rows),
        "",
    ]
    if (docs / frame).is_file():
        lines.append(
            "The frame above is `env.render()` in `rgb_array` mode after a few random steps "
            "from seed 0 (`make docs-frames` redraws it)."
        )
    else:
        lines.append(f"No rendered frame yet: `make docs-frames` draws `docs/{frame}`.")
    lines += ["", "## Baselines", ""]
    section = benchmark_section(env_id, docs)
    if section is None:
        lines.append(
            "No benchmark output yet: `make benchmark` writes the table of every baseline and "
            "trained agent on the fixed test seeds (`docs/RESULTS.md`, `docs/results/`), and "
            "this section shows it. `python eval/benchmark.py --env "
            f"{env_id} --out DIR` gives the baselines alone (see "
            "[Compare with the baselines](../howto/compare.md))."
        )
    else:
        lines += [f"From the benchmark (`make benchmark`, `docs/{BENCHMARK}`):", "", section]
    lines.append("")
    return "\n".join(lines)


def envs_index() -> str:
    """The Markdown of ``envs/index.md``: one row per ID."""
    from mec_gym.registration import ENVS

    lines = [
        "# Environments",
        "",
        "Every ID registered by `import mec_gym` (`mec_gym.registration.ENVS`). Each page is "
        "built from the env class's docstring and its registration.",
        "",
        "| ID | what a step decides | system |",
        "|---|---|---|",
    ]
    for env_id in ENVS:
        cls = env_class(env_id)
        system = env_system(env_id)
        summary = (cls.__doc__ or "").strip().splitlines()[0]
        model = f"[{SYSTEMS[system]['title']}](../{system}.md)"
        lines.append(f"| [{env_id}]({env_id}.md) | {summary} | {model} |")
    return "\n".join(lines) + "\n"


# -------------------------------------------------------------------------- API reference
def reference_modules() -> dict[str, list[str]]:
    """Per package of ``REFERENCE_PACKAGES``, its modules (the package first), by file."""
    found: dict[str, list[str]] = {}
    for package in REFERENCE_PACKAGES:
        folder = ROOT / package.replace(".", "/")
        modules = []
        for path in sorted(folder.rglob("*.py")):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            elif parts[-1].startswith("_"):
                continue
            modules.append(".".join(parts))
        found[package] = sorted(modules, key=lambda m: (m != package, m))
    return found


def reference_page_path(module: str) -> str:
    return f"reference/{module}.md"


def reference_page(module: str) -> str:
    """The Markdown of a module's API page (a package's page shows its docstring only: its
    modules have pages of their own)."""
    is_package = (ROOT / module.replace(".", "/") / "__init__.py").is_file()
    lines = [
        f"::: {module}",
        "    options:",
        "      show_root_full_path: true",
        "      heading_level: 1",
    ]
    if is_package:
        lines.append("      members: false")
    return "\n".join(lines) + "\n"


def reference_index() -> str:
    lines = [
        "# API reference",
        "",
        "Built from the docstrings by mkdocstrings. The layers import one way only "
        "(`tests/test_architecture.py`): models ← problems, simulators ← envs, solvers, twins ← "
        "agents ← train, eval. The environments' own pages are under "
        "[Environments](../envs/index.md).",
        "",
    ]
    for package, modules in reference_modules().items():
        lines += [f"## {REFERENCE_PACKAGES[package]}", ""]
        lines += [f"- [`{m}`]({m}.md)" for m in modules]
        lines.append("")
    return "\n".join(lines)


# -------------------------------------------------------------------------------- reports
NAV_PAGES = {"index.md", "reports.md", *(f"{system}.md" for system in SYSTEMS)}
"""The top-level pages that are not reports: the home page, this page, the system model pages."""


def page_title(path: Path) -> str:
    """A page's first heading, else its name."""
    for line in path.read_text().splitlines():
        if line.startswith("# "):
            return line[2:].strip()
    return path.stem


def report_pages(docs: Path = DOCS) -> list[str]:
    """The Markdown pages written into docs/ by the benchmarks and experiments (paths relative
    to docs/), not counting the hand-written ones, the generated ones and ``GENERATED_REPORTS``."""
    pages = []
    for path in sorted(docs.rglob("*.md")):
        rel = path.relative_to(docs).as_posix()
        top = rel.split("/", 1)[0]
        if rel in NAV_PAGES or rel in GENERATED_REPORTS or top in ("howto", "envs", "reference"):
            continue
        pages.append(rel)
    return pages


def reports_page(docs: Path = DOCS) -> str:
    """The Markdown of ``reports.md``."""
    lines = [
        "# Results and reports",
        "",
        "Pages written by the benchmark and experiment scripts (each states the command that "
        "wrote it, the machine and the date).",
        "",
    ]
    for name, (command, what) in GENERATED_REPORTS.items():
        if (docs / name).is_file():
            lines.append(f"- [{page_title(docs / name)}]({name}): {what}; `{command}`.")
        else:
            lines.append(f"- `docs/{name}`, {what}: not there yet, `{command}` writes it.")
    lines.append("")
    for rel in report_pages(docs):
        lines.append(f"- [{page_title(docs / rel)}]({rel}) (`docs/{rel}`)")
    studies = sorted(path.parent for path in docs.glob("tuning/*/best.yml"))
    if studies:
        links = ", ".join(
            f"[{study.name}]({study.relative_to(docs).as_posix()}/best.yml)" for study in studies
        )
        lines += [
            "",
            "The Optuna studies behind the shipped PPO and MaskablePPO settings (`train/tune.py`; "
            f"`best.yml`: the command and the best trial, `study.csv`: every trial): {links}.",
        ]
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------- all pages
def generated_pages(docs: Path = DOCS) -> dict[str, str]:
    """Every generated page: path relative to docs/ -> Markdown."""
    from mec_gym.registration import ENVS

    pages = {"envs/index.md": envs_index(), "reports.md": reports_page(docs)}
    pages.update({env_page_path(env_id): env_page(env_id, docs) for env_id in ENVS})
    pages["reference/index.md"] = reference_index()
    for modules in reference_modules().values():
        pages.update({reference_page_path(m): reference_page(m) for m in modules})
    return pages


def nav_expansions(docs: Path = DOCS) -> dict[str, list[Any]]:
    """Nav entry -> the section it becomes (its page first)."""
    from mec_gym.registration import ENVS

    reference: list[Any] = ["reference/index.md"]
    for package, modules in reference_modules().items():
        reference.append({REFERENCE_PACKAGES[package]: [reference_page_path(m) for m in modules]})
    reports: list[Any] = ["reports.md"]
    reports += [name for name in GENERATED_REPORTS if (docs / name).is_file()]
    return {
        "envs/index.md": ["envs/index.md", *({i: env_page_path(i)} for i in ENVS)],
        "reference/index.md": reference,
        "reports.md": reports,
    }


def expand_nav(nav: list[Any], expansions: dict[str, list[Any]]) -> list[Any]:
    """``nav`` with every ``{title: page}`` whose page is a key of ``expansions`` made a
    section."""
    expanded = []
    for item in nav:
        if isinstance(item, dict):
            (title, value), *_ = item.items()
            if isinstance(value, str) and value in expansions:
                item = {title: expansions[value]}
            elif isinstance(value, list):
                item = {title: expand_nav(value, expansions)}
        expanded.append(item)
    return expanded


# ------------------------------------------------------------------------- HTML fixes
ROLE = re.compile(
    r":(?:py:)?(?:class|func|meth|mod|attr|data|obj|exc|const):<code>(~?)([\w.\s]+?)(\(\))?</code>"
)
SPEC = re.compile(r"(\bmodel\s+)?<code>docs/(\w+)\.md</code>")


def fix_html(html: str, system_url: dict[str, str]) -> str:
    """Sphinx roles as optional cross-references (plain code where the target is not
    documented); a citation of ``docs/<system>.md`` (the model page) as a link to it."""

    def role(match: re.Match[str]) -> str:
        tilde, target, call = match.groups()
        target = re.sub(r"\s+", "", target)
        text = (target.rsplit(".", 1)[-1] if tilde else target) + (call or "")
        return f'<autoref identifier="{target}" optional><code>{text}</code></autoref>'

    def spec(match: re.Match[str]) -> str:
        prefix = "model: " if match.group(1) else ""
        system = match.group(2)
        if system not in SYSTEMS or system not in system_url:
            return f"{prefix}our model of the source paper"
        title = SYSTEMS[system]["title"]
        return f'{prefix}<a href="{system_url[system]}" title="{title}">the model page</a>'

    return SPEC.sub(spec, ROLE.sub(role, html))


# ------------------------------------------------------------------------ MkDocs hooks
def on_config(config: Any) -> Any:
    config.nav = expand_nav(config.nav or [], nav_expansions(Path(config.docs_dir)))
    return config


def on_files(files: Any, config: Any) -> Any:
    from mkdocs.structure.files import File

    for path, markdown in generated_pages(Path(config.docs_dir)).items():
        if files.get_file_from_path(path) is None:
            files.append(File.generated(config, path, content=markdown))
    return files


def on_page_content(html: str, page: Any, config: Any, files: Any) -> str:
    urls = {}
    for system in SYSTEMS:
        file = files.get_file_from_path(f"{system}.md")
        if file is not None:
            urls[system] = file.url_relative_to(page.file)
    return fix_html(html, urls)
