"""The stages' layering (pyproject.toml's import-linter contracts) and their public surfaces."""

import ast
import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT

PACKAGES = ("cli", "ui", "eval", "qa", "index")
# What one package may import from another: the package itself (its __init__'s names) and these
# modules, shared on purpose (the text and file toolkits, the newsletter profile, the keyword
# tokenizer the index stores and qa queries with, and the commands the entry point assembles).
PUBLIC_MODULES = {
    "index": {"index.bench", "index.commands", "index.files", "index.profile", "index.text", "index.tokens"},
    "qa": {"qa.commands"},
    "ui": {"ui.api", "ui.commands"},
    "eval": {"eval.commands"},
    "cli": set(),
}


def test_the_import_contracts_hold():
    lint = Path(sys.executable).with_name("lint-imports")
    done = subprocess.run([str(lint), "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "2 kept, 0 broken" in done.stdout


def cross_package_imports() -> list[tuple[str, str, str]]:
    """(file, imported module, name) for every import of one package's module by another package."""
    found = []
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text("utf-8"))):
                if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                    found += [(str(path.relative_to(ROOT)), node.module, a.name) for a in node.names]
                elif isinstance(node, ast.Import):
                    found += [(str(path.relative_to(ROOT)), a.name, "") for a in node.names]
    return [(f, m, n) for f, m, n in found if m.split(".")[0] in PACKAGES and m.split(".")[0] != f.split("/")[0]]


def test_packages_reach_each_other_only_through_their_public_surface():
    imports = cross_package_imports()
    assert any(module == "index" for _, module, _ in imports)  # the walk sees real imports
    private = [(f, m, n) for f, m, n in imports if n.startswith("_") or any(p.startswith("_") for p in m.split("."))]
    assert not private, private
    internal = [(f, m) for f, m, _ in imports if m not in PACKAGES and m not in PUBLIC_MODULES[m.split(".")[0]]]
    assert not internal, internal
