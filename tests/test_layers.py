"""Imports only point downwards through the layers of DESIGN.md."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

# Package (or module prefix) -> prefixes of ours it must never import.
FORBIDDEN: dict[str, tuple[str, ...]] = {
    "transcripts": ("oversight", "protocols", "judges"),
    "oversight/endpoints": ("oversight.runner", "oversight.experiment", "oversight.analysis",
                            "oversight.report", "oversight.cli", "protocols", "judges"),
    "oversight/testing": ("oversight.runner", "oversight.experiment", "oversight.analysis",
                          "oversight.report", "oversight.cli", "protocols", "judges"),
    "protocols": ("oversight.runner", "oversight.experiment", "oversight.analysis",
                  "oversight.report", "oversight.cli", "oversight.rejudge"),
    "judges": ("oversight.runner", "oversight.experiment", "oversight.analysis",
               "oversight.report", "oversight.rejudge", "protocols"),
    "oversight/analysis": ("protocols", "judges", "oversight.endpoints", "oversight.runner"),
}


def _imports(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.append(node.module)
    return names


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_imports_point_downwards(package: str) -> None:
    folder = ROOT / package
    if not folder.exists():
        pytest.skip(f"{package} does not exist")
    bad = []
    for path in sorted(folder.rglob("*.py")):
        for name in _imports(path):
            if any(name == f or name.startswith(f + ".") for f in FORBIDDEN[package]):
                bad.append(f"{path.relative_to(ROOT)} imports {name}")
    assert not bad, "layering broken:\n" + "\n".join(bad)


def test_public_names_are_exported() -> None:
    import oversight.errors
    import transcripts

    for module in (transcripts, oversight.errors):
        assert len(set(module.__all__)) == len(module.__all__)
        for name in module.__all__:
            assert hasattr(module, name)
