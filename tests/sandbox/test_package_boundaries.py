"""The sandbox is its own package: the product reaches it only from its demo and CLI entry points,
the engine knows nothing of the demo org, and the CLI works without the `sandbox` extra."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]
# Where the product may start the sandbox: the CLI's sandbox subcommands and the demo.
ENTRY_POINTS = {ROOT / "include/synthgov/cli.py", ROOT / "plugins/synthgov_airflow/demo.py"}


def _imports(path: Path) -> list[tuple[str, bool]]:
    """Every imported module of a file, and whether the import runs when the module loads."""
    tree = ast.parse(path.read_text(), filename=str(path))
    found: list[tuple[str, bool]] = []

    def visit(node: ast.AST, top_level: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.Import):
                found.extend((alias.name, top_level) for alias in child.names)
            elif isinstance(child, ast.ImportFrom) and child.module:
                found.append((child.module, top_level))
            visit(child, top_level and not isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef))

    visit(tree, True)
    return found


def _python_files(*folders: str) -> list[Path]:
    return [p for folder in folders for p in sorted((ROOT / folder).rglob("*.py"))]


def test_product_imports_the_sandbox_only_lazily_from_its_entry_points() -> None:
    offenders = []
    for path in _python_files("include/synthgov", "plugins/synthgov_airflow", "dags"):
        for module, top_level in _imports(path):
            if module.split(".")[0] != "synthgov_sandbox":
                continue
            if path not in ENTRY_POINTS or top_level:
                offenders.append(f"{path.relative_to(ROOT)}: {module}")
    assert offenders == []


def test_sandbox_never_imports_the_product() -> None:
    offenders = [
        f"{path.relative_to(ROOT)}: {module}"
        for path in _python_files("include/synthgov_sandbox")
        for module, _ in _imports(path)
        if module.split(".")[0] in ("synthgov", "synthgov_airflow")
    ]
    assert offenders == []


def test_engine_knows_nothing_of_the_demo_org_or_the_control_plane() -> None:
    offenders = [
        f"{path.relative_to(ROOT)}: {module}"
        for path in _python_files("include/synthgov_sandbox/engine")
        for module, _ in _imports(path)
        if module.startswith(("synthgov_sandbox.demo", "synthgov_sandbox.control", "synthgov_sandbox.server"))
    ]
    assert offenders == []


def _cli_without_the_extra(*args: str) -> subprocess.CompletedProcess[str]:
    # A None entry in sys.modules makes an import fail as if the package were not installed.
    script = (
        "import sys\n"
        "for name in ('starlette', 'uvicorn', 'PIL'):\n"
        "    sys.modules[name] = None\n"
        "from synthgov.cli import main\n"
        f"sys.exit(main({list(args)!r}))\n"
    )
    return subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=False)


def test_cli_help_works_without_the_sandbox_extra() -> None:
    result = _cli_without_the_extra("--help")
    assert result.returncode == 0, result.stderr
    assert "sandbox" in result.stdout


def test_sandbox_serve_names_the_missing_extra() -> None:
    result = _cli_without_the_extra("sandbox", "serve", "--state-dir", "unused")
    assert result.returncode == 2
    assert "synthgov[sandbox]" in result.stderr
    assert "starlette, uvicorn, PIL missing" in result.stderr
