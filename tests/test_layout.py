"""The tree shows the flow, and imports point one way.

Front ends (``intake``, ``commands``, ``ops``, ``cli``) call the ``pipeline``, which
calls ``render`` and ``chat``, which rest on ``store`` and ``core``. A module that
imports against that direction, or an import cycle between modules, fails here with
the offending import named, so the layout cannot erode one shortcut at a time.
"""

from __future__ import annotations

import ast
from pathlib import Path

BOT = Path(__file__).resolve().parent.parent / "bot"

# What each part of bot/ may import besides itself. ``app`` wires everything and the
# command line drives it, so both may import anything.
ALLOWED: dict[str, set[str]] = {
    "core": set(),
    "store": {"core"},
    "config": {"core", "store", "providers", "chat"},
    "providers": {"core", "config"},
    "render": {"core", "config", "store"},
    "chat": {"core", "config", "render", "store"},
    "pipeline": {"core", "config", "store", "render", "chat", "providers", "ops"},
    "commands": {"core", "config", "store", "render", "chat", "pipeline", "providers"},
    "intake": {
        "core",
        "config",
        "store",
        "render",
        "chat",
        "pipeline",
        "providers",
        "commands",
        "ops",
    },
    "ops": {"core", "config", "store", "render", "chat", "pipeline", "providers", "intake"},
    "cli": {"*"},
    "app": {"*"},
    "__main__": {"*"},
    "": set(),
}
# ``ops`` is two things: metrics and logs that every stage writes to (they import only
# the store), and the inspector, a front end like ``intake``. The stages may use the first.
STAGE_USABLE_OPS = {"bot.ops.metrics", "bot.ops.logs"}


def _module_name(path: Path) -> str:
    parts = path.relative_to(BOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> list[tuple[int, str]]:
    """Every ``bot.*`` module imported at module level or in a function, with its line."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            base = node.module
            found.extend((node.lineno, f"{base}.{alias.name}") for alias in node.names)
            found.append((node.lineno, base))
        elif isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names)
    return [(line, name) for line, name in found if name == "bot" or name.startswith("bot.")]


# A platform's command and click front ends live in its folder (bot/chat/<platform>/)
# but sit where ``intake`` sits: they receive requests and call the command core.
FRONT_ENDS = ("commands", "interactions")


def _part(module: str) -> str:
    pieces = module.split(".")
    if len(pieces) == 4 and pieces[1] == "chat" and pieces[3] in FRONT_ENDS:
        return "intake"
    return pieces[1] if len(pieces) > 1 else ""


def _modules() -> dict[str, Path]:
    return {_module_name(path): path for path in BOT.rglob("*.py")}


def test_imports_point_one_way():
    modules = _modules()
    wrong = []
    for name, path in sorted(modules.items()):
        part = _part(name)
        allowed = ALLOWED.get(part)
        assert allowed is not None, f"{name}: bot/{part} is not a known part of the tree"
        if "*" in allowed:
            continue
        for line, imported in _imports(path):
            if imported not in modules and imported.rsplit(".", 1)[0] in modules:
                imported = imported.rsplit(".", 1)[0]  # `from bot.x import name`
            other = _part(imported)
            stage_using_ops = other == "ops" and part not in ("intake", "ops")
            if stage_using_ops and imported not in STAGE_USABLE_OPS:
                wrong.append(f"{name}:{line} imports {imported} (only metrics and logs)")
            elif not (other in ("", part) or other in allowed):
                wrong.append(
                    f"{name}:{line} imports {imported} (bot/{part} may not use bot/{other})"
                )
    assert not wrong, "imports against the flow:\n" + "\n".join(wrong)


def test_no_import_cycles_at_module_level():
    modules = _modules()
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        edges = set()
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in tree.body:  # module level only: an import inside a function is lazy
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("bot"):
                for alias in node.names:
                    full = f"{node.module}.{alias.name}"
                    edges.add(full if full in modules else node.module)
            elif isinstance(node, ast.Import):
                edges.update(a.name for a in node.names if a.name.startswith("bot"))
        graph[name] = {edge for edge in edges if edge in modules and edge != name}

    cycle = _find_cycle(graph)
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


def _find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    visiting: list[str] = []
    done: set[str] = set()

    def visit(node: str) -> list[str] | None:
        if node in visiting:
            return [*visiting[visiting.index(node) :], node]
        if node in done:
            return None
        visiting.append(node)
        for nxt in sorted(graph.get(node, ())):
            # A package's __init__ importing its own submodules is how packages export.
            if nxt.startswith(node + "."):
                continue
            if found := visit(nxt):
                return found
        visiting.pop()
        done.add(node)
        return None

    for start in sorted(graph):
        if found := visit(start):
            return found
    return None


def test_bot_has_no_flat_modules_but_the_wiring():
    flat = sorted(p.name for p in BOT.glob("*.py"))
    assert flat == ["__init__.py", "__main__.py", "app.py"]
