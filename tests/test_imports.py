"""How the package's modules import each other: one way, and without TensorFlow where only onnxruntime is needed."""

import ast
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FRAMEWORKS = ("tensorflow", "keras", "jax", "torch")


def run_python(code, cwd=ROOT):
    """Runs `code` in a fresh interpreter; returns what it printed."""
    result = subprocess.run([sys.executable, "-c", code], cwd=cwd, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


@pytest.mark.parametrize("module", ["zoo", "zoo.runtime", "zoo.registry", "zoo.onnx_tuning", "zoo.winograd", "zoo.cli", "zoo.validation", "zoo.files"])
def test_onnxruntime_only_modules_import_no_framework(module):
    loaded = run_python(f"import sys, {module}; print(sorted(set({FRAMEWORKS!r}) & set(sys.modules)))")
    assert loaded.strip() == "[]"


def test_sampling_an_artifact_from_the_command_line_imports_no_framework(tmp_path):
    artifact = tmp_path / "dcgan"
    artifact.mkdir()
    for name in ("generator.onnx", "card.json"):
        shutil.copy(ROOT / "exports" / "dcgan-fashion-mnist" / name, artifact / name)
    code = (
        "import sys\n"
        "from zoo.cli import main\n"
        f"assert main(['sample', {str(artifact)!r}, '-n', '4', '-o', 'grid.png']) == 0\n"
        f"print(sorted(set({FRAMEWORKS!r}) & set(sys.modules)))\n"
    )
    printed = run_python(code, cwd=tmp_path)
    assert printed.strip().splitlines()[-1] == "[]" and (tmp_path / "grid.png").is_file()


def zoo_imports():
    """{module: the zoo modules it imports, at the top or inside a function}, read from the source."""
    graph = {}
    for path in sorted((ROOT / "zoo").rglob("*.py")):
        parts = path.relative_to(ROOT).with_suffix("").parts
        module = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        package = module if path.name == "__init__.py" else module.rpartition(".")[0]
        targets = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                targets.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1] + ([base] if base else []))
                targets.add(base)
                targets.update(f"{base}.{alias.name}" for alias in node.names)  # `from zoo import data`
        graph[module] = targets
    return {module: sorted(t for t in targets if t in graph and t != module) for module, targets in graph.items()}


def find_cycle(graph):
    """A list of modules that import each other in a loop, or None."""
    state = {}

    def visit(module, trail):
        state[module] = "open"
        for target in graph[module]:
            if state.get(target) == "open":
                return trail[trail.index(target) :] + [target]
            if target not in state and (cycle := visit(target, trail + [target])):
                return cycle
        state[module] = "done"
        return None

    for module in graph:
        if module not in state and (cycle := visit(module, [module])):
            return cycle
    return None


def test_the_package_has_no_import_circle():
    graph = zoo_imports()
    assert "zoo.models.base" in graph["zoo.models.dcgan"]  # the reader sees imports
    # A package's __init__ imports its modules and each of them imports the package first: not a circle.
    graph = {module: [t for t in targets if not (graph.get(t) is not None and module.startswith(t + "."))] for module, targets in graph.items()}
    assert find_cycle(graph) is None


def test_the_circle_finder_finds_a_circle():
    assert find_cycle({"a": ["b"], "b": ["c"], "c": ["a"]}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": ["b"], "b": [], "c": ["a"]}) is None
