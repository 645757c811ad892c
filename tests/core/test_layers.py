"""The package's shape: imports go one way, down the layers of docs/architecture.md; the core
imports no feature and no platform; features do not import each other, nor channels each
other; and there is no import cycle anywhere in bot/ (imports inside functions count)."""

from __future__ import annotations

import ast
from pathlib import Path

from conftest import REPO

BOT = REPO / "bot"
# (rank, package): a module may import its own package and any package of a lower rank.
# Packages of the same rank know nothing of each other.
LAYERS = {
    "bot": 0,  # bot/__init__.py: the version
    "bot.support": 0,  # YAML with line numbers, logs, dates, limits
    "bot.config": 1,
    "bot.content": 2,  # texts, FAQ, matcher
    "bot.domain": 2,  # all SQL
    "bot.core": 3,  # messages, actions, router, pipeline
    "bot.features": 4,
    "bot.delivery": 4,
    "bot.channels": 5,
    "bot.app": 6,
    "bot.cli": 7,
    "bot.__main__": 8,  # python -m bot
}


def module_name(path: Path) -> str:
    parts = path.relative_to(REPO).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in BOT.rglob("*.py")}


def imports(path: Path) -> set[str]:
    """bot modules a file imports, anywhere in it (``from bot.domain import people`` is
    bot.domain.people when that is a module)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names if alias.name.startswith("bot")}
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("bot"):
            for alias in node.names:
                child = f"{node.module}.{alias.name}"
                found.add(child if child in MODULES else node.module)
    return found


GRAPH = {name: imports(path) for name, path in MODULES.items()}


def layer(module: str) -> str:
    return max((p for p in LAYERS if module == p or module.startswith(p + ".")), key=len)


def test_every_module_belongs_to_a_layer():
    assert all(layer(m) for m in MODULES)
    assert len(MODULES) > 40, "the scan found too few modules"


def test_imports_only_go_down_the_layers():
    wrong = []
    for module, targets in GRAPH.items():
        mine = layer(module)
        for target in targets:
            theirs = layer(target)
            if theirs != mine and LAYERS[theirs] >= LAYERS[mine]:
                wrong.append(f"{module} imports {target}")
    assert not wrong, "\n".join(wrong)


def test_the_core_imports_no_feature_no_channel_and_no_platform():
    for module, targets in GRAPH.items():
        if layer(module) == "bot.core":
            assert not {t for t in targets if t.startswith(("bot.features", "bot.channels"))}
            platforms = imports_of_any(MODULES[module].read_text()) & PLATFORMS
            assert not platforms, f"{module} imports {platforms}"


PLATFORMS = {"telegram", "tornado", "httpx", "aiosqlite", "sqlite3"}


def imports_of_any(source: str) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module.split(".")[0])
    return names


def test_features_do_not_import_each_other_nor_channels_each_other():
    shared = {"bot.channels", "bot.channels.base", "bot.channels.registry"}
    for module, targets in GRAPH.items():
        if module.startswith("bot.features.") and module != "bot.features":
            others = {t for t in targets if t.startswith("bot.features") and t != module}
            assert not others, f"{module} imports {others}: navigate by action name instead"
        if module.startswith("bot.channels.") and module not in shared:
            others = {t for t in targets if t.startswith("bot.channels") and t not in shared}
            assert not others, f"{module} imports {others}"


def test_no_import_cycle_in_bot():
    state: dict[str, str] = {}  # "visiting" or "done"

    def visit(module: str, path: list[str]) -> None:
        state[module] = "visiting"
        for target in sorted(GRAPH.get(module, ())):
            if target not in MODULES:
                continue
            if state.get(target) == "visiting":
                cycle = [*path[path.index(target) :], target]
                raise AssertionError("import cycle: " + " → ".join(cycle))
            if target not in state:
                visit(target, [*path, target])
        state[module] = "done"

    for module in sorted(MODULES):
        if module not in state:
            visit(module, [module])


def test_the_cycle_check_finds_a_cycle(monkeypatch):
    """The check above can fail: two modules importing each other are caught."""
    monkeypatch.setitem(GRAPH, "bot.core.router", GRAPH["bot.core.router"] | {"bot.app"})
    try:
        test_no_import_cycle_in_bot()
    except AssertionError as exc:
        assert "bot.app" in str(exc) and "bot.core.router" in str(exc)
    else:
        raise AssertionError("a cycle went unnoticed")


def test_sql_lives_in_the_domain():
    """Only bot/domain/ holds SQL statements (and the delivery worker none of its own)."""
    statement = ("SELECT ", "UPDATE ", "INSERT INTO", "DELETE FROM")
    holders = sorted(
        name
        for name, path in MODULES.items()
        if layer(name) != "bot.domain" and any(s in path.read_text() for s in statement)
    )
    assert holders == [], holders
