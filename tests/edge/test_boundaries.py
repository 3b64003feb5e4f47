"""The house's boundaries: what each part of edge/ may import.

The device installs edge/ without torch, and the vision core is pure (image in, digits out),
so these rules are what keep a Raspberry Pi install small and the core testable.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
EDGE = ROOT / "edge"
# Importing these into the daemon would pull PyTorch (hundreds of MB) onto the device.
TRAINING_SIDE = ("torch", "training", "export", "onnx", "onnxscript")
# The vision core is frame -> digits; no I/O adapters.
VISION_MAY_NOT = ("edge.camera", "edge.mqtt", "edge.store", "edge.api", "edge.app", "edge.bench")

BLOCKED_IMPORT_SCRIPT = """
import importlib, importlib.abc, json, pkgutil, sys
BLOCKED = set(sys.argv[1].split(","))
class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in BLOCKED:
            raise ImportError(f"blocked: {name}")
        return None
sys.meta_path.insert(0, Block())
import edge
names = sorted(m.name for m in pkgutil.walk_packages(edge.__path__, "edge."))
failed = {}
for name in names:
    try:
        importlib.import_module(name)
    except Exception as exc:
        failed[name] = f"{type(exc).__name__}: {exc}"
print(json.dumps({"modules": names, "failed": failed,
                  "loaded": sorted(m for m in sys.modules if m.split(".")[0] in BLOCKED)}))
"""


def edge_modules() -> list[Path]:
    return sorted(p for p in EDGE.rglob("*.py") if "__pycache__" not in p.parts)


def imported_names(path: Path) -> set[str]:
    """Every module an `import` or `from ... import` statement in the file names."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_every_edge_module_imports_with_the_training_side_blocked() -> None:
    result = subprocess.run(
        [sys.executable, "-c", BLOCKED_IMPORT_SCRIPT, ",".join(TRAINING_SIDE)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert len(report["modules"]) > 40  # the walk really found the packages
    assert report["failed"] == {}
    assert report["loaded"] == []


def test_no_edge_module_names_the_training_side_in_an_import_statement() -> None:
    offenders = {
        str(path.relative_to(ROOT)): sorted(
            n for n in imported_names(path) if n.split(".")[0] in TRAINING_SIDE
        )
        for path in edge_modules()
    }
    assert {k: v for k, v in offenders.items() if v} == {}


def test_vision_imports_no_adapter() -> None:
    offenders = {
        str(path.relative_to(ROOT)): sorted(
            n
            for n in imported_names(path)
            if any(n == p or n.startswith(p + ".") for p in VISION_MAY_NOT)
        )
        for path in sorted((EDGE / "vision").glob("*.py"))
    }
    assert {k: v for k, v in offenders.items() if v} == {}


def test_the_import_checks_see_a_violation(tmp_path: Path) -> None:
    """The AST check itself is live: a file that imports torch and a camera is caught."""
    bad = tmp_path / "bad.py"
    bad.write_text("import torch\nfrom edge.camera.grabber import FrameGrabber\n")
    assert imported_names(bad) == {"torch", "edge.camera.grabber"}
