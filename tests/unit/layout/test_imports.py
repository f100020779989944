"""The import rules of docs/DESIGN.md §7, checked on the source."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def sources(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


def offenders(package: str, forbidden: tuple[str, ...]) -> list[str]:
    bad = []
    for path in sources(package):
        for module in imported_modules(path):
            if any(module == f or module.startswith(f + ".") for f in forbidden):
                bad.append(f"{path.relative_to(ROOT)} imports {module}")
    return bad


def test_protocol_is_pure():
    assert offenders("protocol", ("zmq", "tornado", "cv2", "nodes", "bridge")) == []


def test_bridge_never_imports_node_domain_code_or_cv2():
    forbidden = ("cv2", "nodes.vision", "nodes.core", "nodes.tap", "nodes.physics", "nodes.up")
    assert offenders("bridge", forbidden) == []


@pytest.mark.parametrize("package", ["nodes"])
def test_nodes_never_import_the_bridge(package):
    assert offenders(package, ("bridge",)) == []
