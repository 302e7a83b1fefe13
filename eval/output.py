"""What every eval script shares: its command line (``--env``, ``--out``), its output folder,
CSV files, Markdown tables and pages, and figures (Agg backend, no pyplot state)."""

from __future__ import annotations

import argparse
import csv
import os
import platform
import shlex
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from mec_gym.compiled import COMPILED_ENV_CODE, ENV_SWITCH, compiled_envs
from mec_gym.registration import canonical_id

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = [
    "RUNS",
    "Cell",
    "env_id",
    "add_env_argument",
    "add_out_argument",
    "arguments",
    "command_line",
    "output_folder",
    "fresh_folder",
    "load_average",
    "switch_prefix",
    "compiled_code",
    "write_atomically",
    "write_csv",
    "markdown_table",
    "write_markdown",
    "subplots",
    "save_figure",
]

RUNS = Path("runs")
"""Where a script writes when no ``--out`` is given: a fresh ``runs/<script>/<time>/``."""

Cell = str | Callable[[Mapping[str, Any]], str]
"""A Markdown column's cell: a format string over the row's keys (``"{cost:.4f}"``) or a
function of the row."""


def env_id(text: str) -> str:
    """An env ID given on the command line, ``mec_gym:`` prefix removed (argparse ``type``)."""
    return canonical_id(text)


def add_env_argument(
    parser: argparse.ArgumentParser,
    choices: Iterable[str],
    help_text: str,
    *,
    repeatable: bool = False,
    default: str | None = None,
) -> None:
    """``--env ID`` (``mec_gym:`` prefix accepted), one of ``choices`` (IDs of the registry);
    ``repeatable`` collects a list (``--env A B`` or ``--env A --env B``; None when not
    given)."""
    parser.add_argument(
        "--env",
        type=env_id,
        choices=sorted(choices),
        action="extend" if repeatable else "store",
        nargs="+" if repeatable else None,
        default=default,
        help=help_text,
    )


def add_out_argument(parser: argparse.ArgumentParser, name: str, docs: str = "docs") -> None:
    """``--out FOLDER``: where the script writes (default a fresh ``runs/<name>/<time>/``);
    ``--out <docs>`` rewrites the script's committed pages."""
    parser.add_argument(
        "--out",
        type=Path,
        metavar="FOLDER",
        help=f"output folder (default: a fresh {RUNS / name}/<date-time>/; `--out {docs}` "
        "rewrites the committed pages)",
    )


def arguments(argv: Sequence[str] | None) -> list[str]:
    """The command-line arguments: ``argv``, or the process's when None."""
    return list(sys.argv[1:] if argv is None else argv)


def command_line(script: str, argv: Sequence[str]) -> str:
    """The command that reproduces a run of ``eval/<script>`` (a file name or path)."""
    return shlex.join(["python", f"eval/{Path(script).name}", *argv])


def fresh_folder(parent: Path) -> Path:
    """Create ``<parent>/<YYYYmmdd-HHMMSS>[-k]/`` and return it (never an existing folder)."""
    parent.mkdir(parents=True, exist_ok=True)
    stem = f"{datetime.now():%Y%m%d-%H%M%S}"
    for suffix in range(1_000):
        folder = parent / (f"{stem}-{suffix}" if suffix else stem)
        try:
            folder.mkdir()  # atomic: runs started in the same second take the next suffix
        except FileExistsError:
            continue
        return folder
    raise FileExistsError(f"no free run folder {stem}[-k] in {parent}")


def output_folder(out: Path | None, name: str) -> Path:
    """``out`` (created if missing, files in it overwritten), or a fresh ``runs/<name>/<time>/``
    when None."""
    if out is None:
        return fresh_folder(RUNS / name)
    out.mkdir(parents=True, exist_ok=True)
    return out


def processor() -> str:
    """The CPU a page was computed on, with numpy's SIMD extensions (they decide its speed and,
    for ``pow``, ``log`` and the like, the last bit of its results), e.g. ``"AMD EPYC (x86_64;
    numpy's SIMD: X86_V2, X86_V3)"``; the model name from ``/proc/cpuinfo`` where it exists."""
    model = platform.processor() or platform.machine()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        lines = cpuinfo.read_text(errors="replace").splitlines()
        names = [line.split(":", 1)[1].strip() for line in lines if line.startswith("model name")]
        model = names[0] if names and names[0] else model
    try:
        simd = np.show_config(mode="dicts").get("SIMD Extensions", {})
    except TypeError:  # numpy < 1.26: show_config only prints
        simd = {}
    extensions = [*simd.get("baseline", []), *simd.get("found", [])]
    return f"{model} ({platform.machine()}; numpy's SIMD: {', '.join(extensions) or 'none'})"


def load_average() -> str:
    """The machine's 1, 5 and 15 min load averages, e.g. ``"0.42, 1.97, 2.65"`` (timings taken
    on a loaded machine are inflated)."""
    return ", ".join(f"{load:.2f}" for load in os.getloadavg())


def switch_prefix() -> str:
    """``MEC_GYM_NUMBA=0 `` (the variable as set) where it is set, else "": what goes in front
    of a benchmark's command line to give the same page."""
    value = os.environ.get(ENV_SWITCH)
    return f"{ENV_SWITCH}={value} " if value is not None else ""


def compiled_code() -> str:
    """The sentence saying which code a benchmark's environments ran: the parts compiled by
    numba (``mec_gym.compiled.COMPILED_ENV_CODE``), or none (Python and numpy throughout)."""
    if not compiled_envs():
        return (
            "Every env in Python and numpy, nothing compiled (no numba, or `MEC_GYM_NUMBA=0`): "
            "the light install's code."
        )
    import numba

    *first, last = COMPILED_ENV_CODE
    listed = (
        f"{'; '.join(first)}; and {last}" if len(first) > 1 else " and ".join(COMPILED_ENV_CODE)
    )
    return (
        f"Compiled by numba {numba.__version__} (the `solvers` extra): {listed}. "
        "`MEC_GYM_NUMBA=0` runs the light install's code (Python and numpy) instead."
    )


def write_atomically(path: Path, write: Callable[[Path], None]) -> None:
    """``write(temporary path)`` next to ``path`` (same suffix: it names the format), then move
    it onto ``path``: a reader never sees a half-written file, a crash leaves the old one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.stem}.{os.getpid()}.tmp{path.suffix}")
    try:
        write(temporary)
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)


def write_csv(path: Path, rows: Sequence[Mapping[str, Any]], digits: int | None = None) -> None:
    """``rows`` as CSV with the union of their keys as columns (missing cells empty); floats
    with ``digits`` significant digits, or in full (``repr``) when None. Atomic."""
    columns = list(dict.fromkeys(key for row in rows for key in row))

    def write(target: Path) -> None:
        with target.open("w", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=columns)
            writer.writeheader()
            for row in rows:
                if digits is not None:
                    row = {
                        k: f"{v:.{digits}g}" if isinstance(v, float) else v for k, v in row.items()
                    }
                writer.writerow(row)

    write_atomically(path, write)


def markdown_table(rows: Iterable[Mapping[str, Any]], columns: Mapping[str, Cell]) -> list[str]:
    """The lines of a Markdown table: ``columns`` maps each header to its cell (see ``Cell``)."""
    header = "|" + "".join(f" {name} |" if name else " |" for name in columns)
    lines = [header, "|" + "---|" * len(columns)]
    for row in rows:
        cells = [
            cell.format(**row) if isinstance(cell, str) else cell(row) for cell in columns.values()
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


VERSIONED_PACKAGES = ("mec-gym", "gymnasium", "stable-baselines3", "sb3-contrib", "torch", "numpy")
"""The packages whose versions a training run and a benchmark cell depend on."""


def package_versions() -> dict[str, str]:
    """Versions of Python and of :data:`VERSIONED_PACKAGES` ("not installed" for a missing one)."""
    versions = {"python": platform.python_version()}
    for package in VERSIONED_PACKAGES:
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = "not installed"
    return versions


def write_markdown(path: Path, page: str | Sequence[str]) -> str:
    """Write ``page`` (the text, or its lines) to ``path`` ending in one newline, atomically;
    return the text written."""
    text = (page if isinstance(page, str) else "\n".join(page)).rstrip("\n") + "\n"
    write_atomically(path, lambda target: target.write_text(text))
    return text


def subplots(nrows: int = 1, ncols: int = 1, **kwargs: Any) -> tuple[Figure, Any]:
    """A figure on the Agg canvas and its axes (``Figure.subplots``); ``figsize`` (in) and
    ``dpi`` go to the figure, the rest (``sharex``, ...) to ``subplots``."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure_kwargs = {key: kwargs.pop(key) for key in ("figsize", "dpi") if key in kwargs}
    fig = Figure(**figure_kwargs)
    FigureCanvasAgg(fig)
    return fig, fig.subplots(nrows, ncols, **kwargs)


def save_figure(fig: Figure, path: Path, dpi: int = 110) -> None:
    """Lay ``fig`` out tightly and save it to ``path`` (format from the suffix), ``dpi`` dots
    per inch, atomically."""
    fig.tight_layout()
    write_atomically(path, lambda target: fig.savefig(target, dpi=dpi))
