"""The package's shape: imports go one way, down the layers of docs/architecture.md; the core
imports no feature and no platform; features do not import each other, nor channel adapters
each other; SQL and the database driver live in bot/domain only; there is no import cycle
anywhere in bot/. Imports inside functions, relative imports and imports by name string
count too. Each check is shown to fail on a violation planted for it."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from conftest import REPO

BOT = REPO / "bot"
LOWER = {  # what each layer may import besides itself (docs/architecture.md, "may import")
    "bot": set(),
    "bot.support": {"bot"},
    "bot.config": {"bot", "bot.support"},
    "bot.content": {"bot", "bot.support", "bot.config"},
    "bot.domain": {"bot", "bot.support"},
    # the office's documents (Excel, CSV, the Daftar Hadir), for the chat, console and CLI
    "bot.reports": {"bot", "bot.support", "bot.domain"},
    "bot.core": {"bot", "bot.support", "bot.config", "bot.content", "bot.domain"},
    "bot.features": {"bot", "bot.support", "bot.config", "bot.content", "bot.domain", "bot.core"},
    "bot.delivery": {"bot", "bot.support", "bot.config", "bot.content", "bot.domain", "bot.core"},
}
LOWER["bot.features"].add("bot.reports")  # the staff's files in the chat
LOWER["bot.channels"] = LOWER["bot.delivery"] | {"bot.delivery"}
# the staff console: pages on the domain functions, beside the channels (never through them)
LOWER["bot.console"] = {"bot", "bot.support", "bot.config", "bot.content", "bot.domain",
                        "bot.reports"}  # fmt: skip
LOWER["bot.app"] = LOWER["bot.channels"] | {"bot.channels", "bot.features"}
LOWER["bot.cli"] = LOWER["bot.app"] | {"bot.app", "bot.console", "bot.reports"}
LOWER["bot.__main__"] = {"bot.cli"}
PLATFORMS = {"telegram", "tornado", "httpx"}  # only their channel adapters import these
DRIVERS = {"sqlite3", "aiosqlite"}  # only bot/domain talks to the database
SQL = re.compile(
    r"\bselect\b.+?\bfrom\b|\bupdate\s+\w+\s+set\b|\binsert\s+into\b|\bdelete\s+from\b"
    r"|\bcreate\s+(?:table|index)\b|\bpragma\s+\w+"
)
DYNAMIC = {"import_module", "__import__"}
SHARED_CHANNEL_MODULES = {
    "bot.channels",
    "bot.channels.base",
    "bot.channels.registry",
    "bot.channels.intake",
    "bot.channels.webhook",
}


def module_name(path: Path) -> str:
    parts = path.relative_to(REPO).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in BOT.rglob("*.py")}


def package_of(module: str) -> str:
    path = MODULES[module]
    return module if path.name == "__init__.py" else module.rpartition(".")[0]


def parse(module: str) -> ast.Module:
    return ast.parse(MODULES[module].read_text(), str(MODULES[module]))


def imports(module: str, tree: ast.Module) -> set[str]:
    """bot modules a module imports, anywhere in it; ``from bot.domain import people`` is
    bot.domain.people when that is a module; relative imports are resolved."""
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names if alias.name.split(".")[0] == "bot"}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                package = package_of(module).split(".")
                package = package[: len(package) - node.level + 1]
                base = ".".join([*package, base] if base else package)
            if base.split(".")[0] != "bot":
                continue
            for alias in node.names:
                child = f"{base}.{alias.name}"
                found.add(child if child in MODULES else base)
    return found


def third_party(tree: ast.Module) -> set[str]:
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module.split(".")[0])
    return names


def dynamic_imports(tree: ast.Module) -> list[str]:
    """Calls of importlib.import_module(...) or __import__(...)."""
    calls = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            name = getattr(node.func, "attr", None) or getattr(node.func, "id", None)
            if name in DYNAMIC:
                calls.append(name)
    return calls


def strings(tree: ast.Module) -> str:
    """Every string constant of a module but its docstrings, lower case (SQL is often split
    across lines; a docstring may well say "update")."""
    docs = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }
    parts = [n.value for n in ast.walk(tree) if isinstance(n, ast.Constant) and id(n) not in docs]
    return " ".join(p for p in parts if isinstance(p, str)).lower()


TREES = {name: parse(name) for name in MODULES}
GRAPH = {name: imports(name, tree) for name, tree in TREES.items()}


def layer(module: str) -> str:
    """The layer a module belongs to; a module outside every layer is an error."""
    for name in sorted(LOWER, key=len, reverse=True):
        if module == name or (name != "bot" and module.startswith(name + ".")):
            return name
    raise AssertionError(f"{module} is in no layer: add it to docs/architecture.md and LOWER")


def layer_violations(graph: dict[str, set[str]]) -> list[str]:
    wrong = []
    for module, targets in graph.items():
        mine = layer(module)
        wrong += [f"{module} imports {t}" for t in targets if layer(t) not in LOWER[mine] | {mine}]
    return wrong


def sibling_violations(graph: dict[str, set[str]]) -> list[str]:
    wrong = []
    for module, targets in graph.items():
        if module.startswith("bot.features."):
            wrong += [f"{module} imports {t}" for t in targets if t.startswith("bot.features.")]
        if module.startswith("bot.channels.") and module not in SHARED_CHANNEL_MODULES:
            wrong += [
                f"{module} imports {t}"
                for t in targets
                if t.startswith("bot.channels") and t not in SHARED_CHANNEL_MODULES
            ]
    return sorted(wrong)


def sql_holders(trees: dict[str, ast.Module]) -> list[str]:
    return sorted(
        name
        for name, tree in trees.items()
        if layer(name) != "bot.domain"
        and (SQL.search(strings(tree)) or third_party(tree) & DRIVERS)
    )


def test_every_module_belongs_to_a_layer():
    assert len(MODULES) > 40, "the scan found too few modules"
    for module in MODULES:
        layer(module)
    with pytest.raises(AssertionError, match=r"bot\.web is in no layer"):
        layer("bot.web")


def test_imports_only_go_down_the_layers():
    assert not layer_violations(GRAPH), "\n".join(layer_violations(GRAPH))
    planted = {**GRAPH, "bot.domain.people": GRAPH["bot.domain.people"] | {"bot.config"}}
    assert layer_violations(planted) == ["bot.domain.people imports bot.config"]


def test_relative_imports_are_resolved():
    tree = ast.parse("from . import menu\nfrom ..domain import people")
    assert imports("bot.features.faq", tree) == {"bot.features.menu", "bot.domain.people"}
    tree = ast.parse("from .context import Ctx\nfrom .. import features")
    assert imports("bot.core.router", tree) == {"bot.core.context", "bot.features"}


def test_the_core_imports_no_feature_no_channel_and_no_platform():
    for module, targets in GRAPH.items():
        if layer(module) == "bot.core":
            assert not {t for t in targets if t.startswith(("bot.features", "bot.channels"))}
            assert not third_party(TREES[module]) & (PLATFORMS | DRIVERS), module


def test_only_channel_adapters_import_a_platform_library():
    for module, tree in TREES.items():
        if third_party(tree) & PLATFORMS:
            adapters = ("bot.channels.telegram", "bot.channels.whatsapp", "bot.channels.webhook")
            assert module in adapters, module


def test_features_do_not_import_each_other_nor_channels_each_other():
    assert not sibling_violations(GRAPH), "\n".join(sibling_violations(GRAPH))
    planted = {
        **GRAPH,
        "bot.features.faq": GRAPH["bot.features.faq"] | {"bot.features.menu"},
        "bot.channels.whatsapp": GRAPH["bot.channels.whatsapp"] | {"bot.channels.telegram"},
    }
    assert sibling_violations(planted) == [
        "bot.channels.whatsapp imports bot.channels.telegram",
        "bot.features.faq imports bot.features.menu",
    ]


def test_nothing_imports_by_name_but_the_channel_registry():
    for module, tree in TREES.items():
        if module != "bot.channels.registry":
            assert not dynamic_imports(tree), f"{module} imports by name"
            assert "importlib" not in third_party(tree), f"{module} imports importlib"
    assert dynamic_imports(ast.parse("importlib.import_module('bot.features.menu')"))
    assert "importlib" in third_party(ast.parse("from importlib import import_module as im"))


def test_sql_lives_in_the_domain():
    """Only bot/domain/ holds SQL or talks to the database driver."""
    assert sql_holders(TREES) == []
    planted = {
        **TREES,
        "bot.features.faq": ast.parse('q = ("select id " "from people")'),
        "bot.channels.console": ast.parse("import aiosqlite"),
    }
    assert sql_holders(planted) == ["bot.channels.console", "bot.features.faq"]


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, str] = {}  # "visiting" or "done"

    def visit(module: str, path: list[str]) -> list[str] | None:
        state[module] = "visiting"
        for target in sorted(graph.get(module, ())):
            if target not in graph:
                continue
            if state.get(target) == "visiting":
                return [*path[path.index(target) :], target]
            if target not in state and (cycle := visit(target, [*path, target])):
                return cycle
        state[module] = "done"
        return None

    for module in sorted(graph):
        if module not in state and (cycle := visit(module, [module])):
            return cycle
    return None


def test_no_import_cycle_in_bot():
    cycle = find_cycle(GRAPH)
    assert cycle is None, "import cycle: " + " → ".join(cycle or [])
    planted = {**GRAPH, "bot.core.router": GRAPH["bot.core.router"] | {"bot.app"}}
    found = find_cycle(planted)
    assert found and "bot.app" in found and "bot.core.router" in found
