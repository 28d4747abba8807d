"""The public functions and methods of each domain carry their types (mypy, run by ./test, checks them and their
callers); the command line's click callbacks are left to click."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "src" / "mco_newsletter"


def untyped(tree: ast.Module, path: str) -> list[str]:
    """The public functions (and methods of public classes) of a module with a parameter or a return untyped."""
    found = []

    def visit(body: list[ast.stmt], owner: str = "") -> None:
        for node in body:
            if isinstance(node, ast.ClassDef) and not node.name.startswith("_"):
                visit(node.body, f"{node.name}.")
            elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                if node.name.startswith("_") and node.name != "__init__":
                    continue
                arguments = node.args.posonlyargs + node.args.args + node.args.kwonlyargs
                if owner and arguments and arguments[0].arg in ("self", "cls"):
                    arguments = arguments[1:]
                arguments += [a for a in (node.args.vararg, node.args.kwarg) if a is not None]
                missing = [a.arg for a in arguments if a.annotation is None]
                if node.returns is None and node.name != "__init__":
                    missing.append("return")
                if missing:
                    found.append(f"{path}:{node.lineno} {owner}{node.name}: {', '.join(missing)}")

    visit(tree.body)
    return found


def test_public_functions_of_each_domain_are_typed():
    """Every public function outside cli/ names the types of its parameters and of what it returns."""
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        relative = path.relative_to(PACKAGE)
        if relative.parts[0] != "cli":
            found += untyped(ast.parse(path.read_text(encoding="utf-8")), str(relative))
    assert found == []


def test_an_untyped_function_is_found():
    """The check sees a missing parameter type, a missing return type and an untyped method of a public class."""
    tree = ast.parse("def a(x) -> int: ...\ndef b(y: int): ...\ndef _c(z): ...\n"
                     "class D:\n    def e(self, *args: int, **kwargs) -> None: ...\n")
    assert untyped(tree, "m.py") == ["m.py:1 a: x", "m.py:2 b: return", "m.py:5 D.e: kwargs"]
