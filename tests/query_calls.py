"""Where the code runs named queries: every call of db.query's one/many/run/stream and of
sqlc.registry's get in aibridge_cli/, found in the source, with the query names each can run
(a literal, or names resolved from literals: a module-level constant or dict of names, a
conditional, a function of this module that returns one, a parameter whose callers pass one)
and the keyword parameters it passes."""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "aibridge_cli"
QUERY_MODULE, REGISTRY_MODULE = "aibridge_cli.db.query", "aibridge_cli.sqlc.registry"
RUNNERS = {"one", "many", "run", "stream"}


@dataclass
class Call:
    where: str  # file:line
    source: str  # the name argument as written
    names: set | None  # the query names it can run; None: not resolved to literals
    keywords: set = field(default_factory=set)
    spread: bool = False  # passes **params as well: only a run shows what they hold


# The machinery that runs a name it is given, not a caller of a query.
PLUMBING = {"db/query.py", "sqlc/registry.py"}


def _modules():
    for path in sorted(PACKAGE.rglob("*.py")):
        if path.relative_to(PACKAGE).as_posix() in PLUMBING:
            continue
        yield path, ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def _name_dicts(trees) -> dict[str, set]:
    """Module-level `NAME = {key: "QueryName", ...}` dicts of string values, by NAME."""
    out: dict[str, set] = {}
    for _, tree in trees:
        for node in tree.body:
            if (isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name)
                    and isinstance(node.value, ast.Dict) and node.value.values
                    and all(isinstance(v, ast.Constant) and isinstance(v.value, str) for v in node.value.values)):
                out[node.targets[0].id] = {v.value for v in node.value.values}
    return out


def _aliases(tree) -> tuple[set, set, dict]:
    """Local names of the query module, of the registry module, and of their functions."""
    query_mods, registry_mods, funcs = set(), set(), {}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            for a in node.names:
                full = f"{node.module}.{a.name}"
                local = a.asname or a.name
                if full == QUERY_MODULE:
                    query_mods.add(local)
                elif full == REGISTRY_MODULE:
                    registry_mods.add(local)
                elif node.module == QUERY_MODULE and a.name in RUNNERS:
                    funcs[local] = "query"
                elif node.module == REGISTRY_MODULE and a.name == "get":
                    funcs[local] = "get"
        elif isinstance(node, ast.Import):
            for a in node.names:
                if a.name == QUERY_MODULE and a.asname:
                    query_mods.add(a.asname)
                elif a.name == REGISTRY_MODULE and a.asname:
                    registry_mods.add(a.asname)
    return query_mods, registry_mods, funcs


def _kind(call: ast.Call, aliases) -> str | None:
    query_mods, registry_mods, funcs = aliases
    f = call.func
    if isinstance(f, ast.Attribute) and isinstance(f.value, ast.Name):
        if f.value.id in query_mods and f.attr in RUNNERS:
            return "query"
        if f.value.id in registry_mods and f.attr == "get":
            return "get"
    if isinstance(f, ast.Name) and f.id in funcs:
        return funcs[f.id]
    return None


class _Resolver:
    def __init__(self, tree, dicts):
        self.tree, self.dicts = tree, dicts
        self.parents = {}
        self.functions: dict[str, list] = {}
        self.constants = {node.targets[0].id: node.value.value for node in tree.body
                          if isinstance(node, ast.Assign) and len(node.targets) == 1
                          and isinstance(node.targets[0], ast.Name) and isinstance(node.value, ast.Constant)
                          and isinstance(node.value.value, str)}
        for node in ast.walk(tree):
            for child in ast.iter_child_nodes(node):
                self.parents[child] = node
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                self.functions.setdefault(node.name, []).append(node)

    def enclosing_function(self, node):
        while node in self.parents:
            node = self.parents[node]
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                return node
        return None

    def names(self, expr, depth=0) -> set | None:
        if depth > 4:
            return None
        if isinstance(expr, ast.Constant) and isinstance(expr.value, str):
            return {expr.value}
        if isinstance(expr, ast.IfExp):
            a, b = self.names(expr.body, depth + 1), self.names(expr.orelse, depth + 1)
            return a | b if a is not None and b is not None else None
        if isinstance(expr, ast.Subscript):
            base = expr.value
            key = base.id if isinstance(base, ast.Name) else base.attr if isinstance(base, ast.Attribute) else None
            return set(self.dicts[key]) if key in self.dicts else None
        if isinstance(expr, ast.Call):
            f = expr.func
            fname = f.id if isinstance(f, ast.Name) else f.attr if isinstance(f, ast.Attribute) else None
            returns = [r.value for fn in self.functions.get(fname, []) for r in ast.walk(fn)
                       if isinstance(r, ast.Return) and r.value is not None]
            if not returns:
                return None
            found = [self.names(r, depth + 1) for r in returns]
            return set().union(*found) if all(x is not None for x in found) else None
        if isinstance(expr, ast.Name):
            found = self._parameter(expr, depth)
            if found is None and expr.id in self.constants and self._is_module_level(expr):
                return {self.constants[expr.id]}
            return found
        return None

    def _is_module_level(self, expr: ast.Name) -> bool:
        """The name is not bound inside the function it is read in (so it is the module's)."""
        fn = self.enclosing_function(expr)
        if fn is None:
            return True
        bound = {a.arg for a in fn.args.args + fn.args.kwonlyargs}
        bound |= {t.id for node in ast.walk(fn) if isinstance(node, (ast.Assign, ast.AugAssign, ast.AnnAssign))
                  for t in (node.targets if isinstance(node, ast.Assign) else [node.target]) if isinstance(t, ast.Name)}
        return expr.id not in bound

    def _parameter(self, expr: ast.Name, depth) -> set | None:
        """A parameter of the enclosing function: the names its callers in this module pass."""
        fn = self.enclosing_function(expr)
        if fn is None:
            return None
        params = [a.arg for a in fn.args.args]
        if expr.id not in params:
            return None
        index = params.index(expr.id) - (1 if params and params[0] in ("self", "cls") else 0)
        found = []
        for node in ast.walk(self.tree):
            if not isinstance(node, ast.Call):
                continue
            f = node.func
            if (f.id if isinstance(f, ast.Name) else f.attr if isinstance(f, ast.Attribute) else None) != fn.name:
                continue
            arg = next((k.value for k in node.keywords if k.arg == expr.id), None)
            if arg is None and index < len(node.args):
                arg = node.args[index]
            found.append(self.names(arg, depth + 1) if arg is not None else None)
        if not found or any(x is None for x in found):
            return None
        return set().union(*found)


def calls() -> list[Call]:
    trees = list(_modules())
    dicts = _name_dicts(trees)
    out = []
    for path, tree in trees:
        aliases = _aliases(tree)
        if not any(aliases):
            continue
        resolver = _Resolver(tree, dicts)
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            kind = _kind(node, aliases)
            if kind is None:
                continue
            position = 1 if kind == "query" else 0
            name_arg = next((k.value for k in node.keywords if k.arg == "name"), None)
            if name_arg is None and len(node.args) > position:
                name_arg = node.args[position]
            if name_arg is None:
                continue
            keywords = {k.arg for k in node.keywords if k.arg not in (None, "name", "itersize")}
            out.append(Call(f"{path.relative_to(ROOT)}:{node.lineno}", ast.unparse(name_arg),
                            resolver.names(name_arg), keywords if kind == "query" else set(),
                            kind == "query" and any(k.arg is None for k in node.keywords)))
    return out
