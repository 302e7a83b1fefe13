"""Architecture rules the code is held to: one-way data flow between layers, no access to
another module's private attributes."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SOURCES = sorted(
    path
    for folder in ("mec_gym", "agents", "train", "eval")
    for path in (ROOT / folder).rglob("*.py")
)
LAYERS = {
    "mec_gym.models": 0,
    "mec_gym.config": 0,
    "mec_gym.problems": 1,
    "mec_gym.simulators": 1,
    "mec_gym.envs": 2,
    "mec_gym.solvers": 2,
    "mec_gym.twins": 2,
    "mec_gym.agents": 3,
    "mec_gym.train": 4,
    "mec_gym.eval": 4,
}
"""models <- problems/simulators <- envs, solvers, twins <- agents <- train, eval."""
FOLDER_PACKAGES = {"agents": "mec_gym.agents", "train": "mec_gym.train", "eval": "mec_gym.eval"}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[0] in FOLDER_PACKAGES:
        parts[:1] = FOLDER_PACKAGES[parts[0]].split(".")
    return ".".join(parts).removesuffix(".__init__")


def layer(module: str) -> int | None:
    matches = [name for name in LAYERS if module == name or module.startswith(name + ".")]
    return LAYERS[max(matches, key=len)] if matches else None


def imported_modules(tree: ast.AST) -> list[tuple[int, str]]:
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module))
    return found


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(ROOT)))
def test_imports_flow_one_way(path):
    own = layer(module_name(path))
    if own is None:
        return
    upward = [
        f"line {line}: {module}"
        for line, module in imported_modules(ast.parse(path.read_text()))
        if (other := layer(module)) is not None and other > own
    ]
    assert not upward, f"{module_name(path)} (layer {own}) imports a higher layer: {upward}"


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_private_attribute_of_another_object(path):
    hits = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Attribute) and node.attr.startswith("_"):
            owner = node.value
            own = isinstance(owner, ast.Name) and owner.id in ("self", "cls")
            # super()._hook(): the object's own hook as its base class implements it
            own |= (
                isinstance(owner, ast.Call)
                and isinstance(owner.func, ast.Name)
                and owner.func.id == "super"
            )
            if not own and not node.attr.startswith("__"):
                hits.append(f"line {node.lineno}: {ast.unparse(node)}")
        elif isinstance(node, ast.ImportFrom):
            hits += [
                f"line {node.lineno}: from {node.module} import {alias.name}"
                for alias in node.names
                if alias.name.startswith("_") and not alias.name.startswith("__")
            ]
    assert not hits, hits
