"""The layout keeps its promises: each DAG file shows its own tasks, the package has no import cycle, every setting
and connection id is defined once (moodle_sync.config), and the shipped plugins hold no demo or test tool."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "plugins" / "moodle_sync"
CONFIG = PACKAGE / "config.py"


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT / "plugins").with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> set[str]:
    """Every moodle_sync module ``path`` imports, at any level (a function-level import is still a dependency)."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("moodle_sync"):
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            names.update(a.name for a in node.names if a.name.startswith("moodle_sync"))
    return names


def test_the_package_has_no_import_cycle():
    modules = {_module_name(p): p for p in PACKAGE.rglob("*.py")}
    graph = {name: {m for m in _imports(path) if m in modules and m != name} for name, path in modules.items()}
    # a package's __init__ importing its own modules is how a package works, not a cycle of its modules
    graph = {name: {m for m in deps if not name.startswith(m + ".")} for name, deps in graph.items()}
    done, path = set(), []

    def visit(node):
        if node in path:
            cycle = path[path.index(node):] + [node]
            pytest.fail("import cycle: " + " -> ".join(cycle))
        if node in done:
            return
        path.append(node)
        for dep in sorted(graph[node]):
            visit(dep)
        path.pop()
        done.add(node)

    for name in sorted(graph):
        visit(name)


def test_every_task_is_declared_in_the_file_of_its_dag():
    """The UI's Code tab shows the DAG file: its schedule, params and every task's body must be there."""
    import inspect

    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(ROOT / "dags"))
    assert bag.import_errors == {} and bag.dags
    for dag_id, dag in bag.dags.items():
        source = Path(dag.fileloc).read_text()
        assert "@dag(" in source and f'"{dag_id}"' in source or "dag_id=spec.dag_id" in source, dag_id
        for task in dag.tasks:
            assert Path(inspect.getsourcefile(task.python_callable)) == Path(dag.fileloc), (dag_id, task.task_id)


def _string_literals(path: Path) -> list[str]:
    return [n.value for n in ast.walk(ast.parse(path.read_text()))
            if isinstance(n, ast.Constant) and isinstance(n.value, str)]


def test_settings_and_connection_ids_are_defined_only_in_config():
    from moodle_sync import config

    conn_ids = {v for k, v in vars(config).items() if k.endswith("_CONN_ID")}
    envs = {s.env for s in vars(config).values() if isinstance(s, config.Setting)}
    assert len(envs) == len([s for s in vars(config).values() if isinstance(s, config.Setting)])
    offenders = []
    for path in PACKAGE.rglob("*.py"):
        if path == CONFIG:
            continue
        for text in _string_literals(path):
            if text in conn_ids or re.fullmatch(r"MOODLE_SYNC_[A-Z_]+", text):
                offenders.append(f"{path.relative_to(ROOT)}: {text!r}")
    assert not offenders, "defined outside moodle_sync/config.py: " + ", ".join(offenders)
    assert all(re.fullmatch(r"MOODLE_SYNC_[A-Z_]+", e) for e in envs)


def test_the_shipped_plugins_hold_no_demo_or_test_tool():
    for path in (ROOT / "plugins").rglob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module:
                assert node.module.split(".")[0] not in ("demo", "tests", "bench"), path
            if isinstance(node, ast.Import):
                assert all(a.name.split(".")[0] not in ("demo", "tests", "bench") for a in node.names), path
        assert not re.search(r"demo|receiver|fake|mock", path.stem), path
