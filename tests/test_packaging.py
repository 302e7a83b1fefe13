"""The wheel carries every data file of the packages: the package-data table of pyproject.toml
covers the files on disk (fast), and a wheel built from the checkout holds them (slow).

The packages are ``mec_gym`` and its subpackages, plus ``agents/``, ``train/`` and ``eval/``
installed as ``mec_gym.agents``, ``mec_gym.train`` and ``mec_gym.eval`` (the ``BESIDE`` table of
setup.py). A data file is any file in a package folder that is not Python source.
"""

from __future__ import annotations

import ast
import fnmatch
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    tomllib = pytest.importorskip("tomli")

ROOT = Path(__file__).resolve().parents[1]
SKIPPED_DIRS = {"__pycache__"}
SKIPPED_SUFFIXES = {".py", ".pyc", ".pyo"}


def beside_packages() -> dict[str, str]:
    """setup.py's ``BESIDE``: package name -> folder of the checkout (read, not executed:
    importing setup.py would run ``setup()``)."""
    tree = ast.parse((ROOT / "setup.py").read_text())
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
            isinstance(target, ast.Name) and target.id == "BESIDE" for target in node.targets
        ):
            return ast.literal_eval(node.value)
    raise AssertionError("setup.py has no BESIDE table")


def package_dirs() -> dict[str, Path]:
    """Every installed package: its dotted name -> its folder (a folder with ``__init__.py``)."""
    roots = {"mec_gym": ROOT / "mec_gym"}
    roots.update({name: ROOT / folder for name, folder in beside_packages().items()})
    packages = {}
    for name, root in roots.items():
        for init in root.rglob("__init__.py"):
            relative = init.parent.relative_to(root).parts
            if not SKIPPED_DIRS.intersection(relative):
                packages[".".join((name, *relative))] = init.parent
    return packages


def owner(path: Path, packages: dict[str, Path]) -> str:
    """The innermost package whose folder holds ``path``."""
    holders = [name for name, folder in packages.items() if folder in path.parents]
    return max(holders, key=lambda name: len(packages[name].parts))


def data_files() -> dict[Path, tuple[str, str]]:
    """Every data file on disk -> (its package, its path relative to the package folder)."""
    packages = package_dirs()
    roots = [packages["mec_gym"], *(packages[name] for name in beside_packages())]
    files = {}
    for root in roots:
        for path in root.rglob("*"):
            relative = path.relative_to(ROOT).parts
            if (
                path.is_file()
                and path.suffix not in SKIPPED_SUFFIXES
                and not SKIPPED_DIRS.intersection(relative)
            ):
                package = owner(path, packages)
                files[path] = (package, path.relative_to(packages[package]).as_posix())
    return files


def package_data() -> dict[str, list[str]]:
    with open(ROOT / "pyproject.toml", "rb") as file:
        return tomllib.load(file)["tool"]["setuptools"]["package-data"]


def declared(package: str, relative: str, table: dict[str, list[str]]) -> bool:
    return any(fnmatch.fnmatchcase(relative, pattern) for pattern in table.get(package, []))


def test_py_typed_marks_the_package():
    assert (ROOT / "mec_gym" / "py.typed").is_file()
    assert declared("mec_gym", "py.typed", package_data())


def test_the_hyperparameter_yamls_are_package_data():
    table = package_data()
    yamls = sorted((ROOT / "train" / "hyperparams").glob("*.yml"))
    assert yamls, "train/hyperparams/*.yml not found"
    for path in yamls:
        assert declared("mec_gym.train", f"hyperparams/{path.name}", table), path


def test_package_data_covers_every_data_file():
    table = package_data()
    missing = [
        f"{path.relative_to(ROOT)} (package {package}, {relative})"
        for path, (package, relative) in data_files().items()
        if not declared(package, relative, table)
    ]
    assert not missing, f"data files the wheel would leave out: {missing}"


def test_every_package_data_pattern_matches_a_file():
    packages = package_dirs()
    table = package_data()
    unknown = sorted(set(table) - set(packages))
    assert not unknown, f"package-data names packages that are not installed: {unknown}"
    files = data_files().values()
    empty = [
        f"{package}: {pattern}"
        for package, patterns in table.items()
        for pattern in patterns
        if not any(p == package and fnmatch.fnmatchcase(r, pattern) for p, r in files)
    ]
    assert not empty, f"package-data patterns that match no file: {empty}"


def test_one_version_everywhere():
    """pyproject.toml's version is ``mec_gym.__version__`` and CITATION.cff's ``version``."""
    import mec_gym

    with open(ROOT / "pyproject.toml", "rb") as file:
        version = tomllib.load(file)["project"]["version"]
    assert mec_gym.__version__ == version
    citation = (ROOT / "CITATION.cff").read_text()
    assert re.search(rf"^version: {re.escape(version)}$", citation, re.MULTILINE), version


@pytest.mark.slow
def test_the_wheel_holds_the_data_files(tmp_path):
    """Build a wheel from a copy of the checkout (so that the build leaves nothing in it) and
    look for every data file, the YAMLs and py.typed among them."""
    pytest.importorskip("setuptools")
    source = tmp_path / "src"
    ignore = shutil.ignore_patterns(
        ".venv",
        ".git",
        "runs",
        "docs",
        "site",
        "build",
        "dist",
        "*.egg-info",
        "__pycache__",
        ".*cache",
    )
    shutil.copytree(ROOT, source, ignore=ignore)
    wheels = tmp_path / "wheels"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q"]
        + ["-w", str(wheels), str(source)],
        check=True,
        timeout=600,
    )
    (wheel,) = wheels.glob("mec_gym-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
    expected = {
        "/".join((*package.split("."), relative)) for package, relative in data_files().values()
    }
    assert {"mec_gym/py.typed", "mec_gym/train/hyperparams/ppo.yml"} <= expected
    assert not expected - names, f"missing from the wheel: {sorted(expected - names)}"
    assert any(name.endswith(".dist-info/licenses/LICENSE") for name in names) or any(
        name.endswith(".dist-info/LICENSE") for name in names
    ), "the wheel carries no LICENSE"
