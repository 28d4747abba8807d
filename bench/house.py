"""The house drawn from the imports of src/mco_newsletter: rooms, floors, arrows, arrows running back up, circles.

Run from the repository: python bench/house.py [--floors] [--arrows] [--at REF]
A room is a module (a package's __init__ only when it holds code). An arrow is an import of one room by another,
wherever it stands in the module (a lazy import inside a function and one under TYPE_CHECKING count too: each
says the importer needs the other room). Importing a.b from outside the package a also runs a's __init__: an arrow
to a as well. A floor is a room's height: one above the highest room it imports (a circle's rooms share a floor).
A circle is a set of rooms that import each other round (a strongly connected set of two or more). An arrow runs
back up when it goes from a layer of LAYERS to one above it. --at REF draws the house of a git commit instead.
tests/test_house.py holds the house to no circle and no arrow running back up.
"""

from __future__ import annotations

import argparse
import ast
import fnmatch
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PACKAGE = "mco_newsletter"

# The declared order of the house, ground floor first: a room may import rooms of its own layer or of a layer
# below, never one above. Each room is in the first layer with a pattern that matches its name (fnmatch, names
# relative to the package: "web.app", "delivery.backends.smtp").
LAYERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("ground: words, errors, files, the schema of settings, addresses, an issue and its blocks",
     ("errors", "files", "wording", "schema", "localized", "control_characters", "email_addresses", "bank_codes",
      "iban_formats", "clickable", "po_wrap", "word_forms", "defaults", "issue", "issue_*", "front_matter",
      "pictures", "settings_*", "storage.location", "storage.dialect", "credentials",
      "idle_sockets")),
    ("each room's settings (a frozen dataclass, its schema, checks and builder) and what they check with",
     ("delivery.settings", "delivery.dkim_keys", "delivery.webhook_signature", "delivery.return_path",
      "bounces.settings", "render.privacy", "render.markup", "subscribers", "subscribers.segments",
      "subscribers.signup_settings", "subscribers.tokens", "subscribers.keys", "translation.settings",
      "web.settings", "delivery.send_time")),
    ("the settings composed", ("config",)),
    ("the store's layer", ("storage.*",)),
    ("the catalogs of an issue, translation and review, the edition, rendering",
     ("translation_rules", "catalog*", "merging", "glossary", "overrides", "review",
      "translators", "translation.*", "edition", "scaffold", "workspace", "render", "render.*")),
    ("the subscribers", ("subscribers.*",)),
    ("delivery", ("delivery", "delivery.*")),
    ("bounces", ("bounces", "bounces.*")),
    ("how a send went, counted", ("reporting", "reporting.*")),
    ("the web", ("web", "web.*")),
    ("check of the whole workspace", ("template_check", "workspace_check")),
    ("the command line", ("cli", "cli.*", "__main__")),
)


@dataclass(frozen=True)
class House:
    """The rooms and the arrows between them."""

    rooms: tuple[str, ...]
    arrows: frozenset[tuple[str, str]]

    def circles(self) -> list[list[str]]:
        """Every set of rooms that import each other round, each sorted, largest first."""
        return sorted((sorted(group) for group in _strongly_connected(self.rooms, self.arrows) if len(group) > 1),
                      key=lambda group: (-len(group), group))

    def floors(self) -> dict[str, int]:
        """Each room's floor: 0 for a room that imports none, else one above the highest room it imports."""
        group_of = {}
        for group in _strongly_connected(self.rooms, self.arrows):
            for room in group:
                group_of[room] = frozenset(group)
        below: dict[frozenset, set[frozenset]] = {group: set() for group in group_of.values()}
        for source, target in self.arrows:
            if group_of[source] != group_of[target]:
                below[group_of[source]].add(group_of[target])
        height: dict[frozenset, int] = {}

        def floor_of(group: frozenset) -> int:
            if group not in height:
                height[group] = 1 + max((floor_of(lower) for lower in below[group]), default=-1)
            return height[group]

        sys.setrecursionlimit(max(sys.getrecursionlimit(), 10 * len(self.rooms)))
        return {room: floor_of(group_of[room]) for room in self.rooms}

    def back_arrows(self, layers=None) -> list[tuple[str, str]]:
        """The arrows that run from a layer up to a layer above it."""
        level = layer_of(self.rooms, LAYERS if layers is None else layers)
        return sorted((source, target) for source, target in self.arrows
                      if source in level and target in level and level[target] > level[source])


def layer_of(rooms, layers) -> dict[str, int]:
    """Each room's layer (its index in layers); a room no pattern matches is left out."""
    found = {}
    for room in rooms:
        for index, (_name, patterns) in enumerate(layers):
            if any(fnmatch.fnmatchcase(room, pattern) for pattern in patterns):
                found[room] = index
                break
    return found


def draw(source: Path) -> House:
    """The house of the package whose folder is source (…/src/mco_newsletter)."""
    modules = {}
    for path in sorted(source.rglob("*.py")):
        parts = path.relative_to(source).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        modules[".".join(parts)] = path
    trees = {name: ast.parse(path.read_text(encoding="utf-8"), str(path)) for name, path in modules.items()}
    rooms = tuple(name for name in modules if name and (not modules[name].name == "__init__.py"
                                                        or _holds_code(trees[name])))
    arrows = set()
    for name, tree in trees.items():
        if name not in rooms:
            continue
        is_package = modules[name].name == "__init__.py"
        for target in _imported(tree, name, is_package, set(modules)):
            for room in _ran_by(target, name):
                if room in rooms and room != name:
                    arrows.add((name, room))
    return House(rooms=tuple(sorted(rooms)), arrows=frozenset(arrows))


def _holds_code(tree: ast.Module) -> bool:
    body = [node for node in tree.body if not (isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant))]
    return any(not (isinstance(node, ast.ImportFrom) and node.module == "__future__") for node in body)


def _imported(tree: ast.Module, name: str, is_package: bool, modules: set[str]):
    """The modules of the package that a module imports (names relative to the package)."""
    here = name.split(".") if name else []
    if not is_package:
        here = here[:-1]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == PACKAGE:
                    yield _known(alias.name.split(".")[1:], modules)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = here[:len(here) - (node.level - 1)] if node.level > 1 else list(here)
                parts = base + (node.module.split(".") if node.module else [])
            elif node.module and node.module.split(".")[0] == PACKAGE:
                parts = node.module.split(".")[1:]
            else:
                continue
            for alias in node.names:
                submodule = ".".join(parts + [alias.name])
                yield submodule if submodule in modules else _known(parts, modules)


def _known(parts: list[str], modules: set[str]) -> str:
    while parts and ".".join(parts) not in modules:
        parts = parts[:-1]
    return ".".join(parts)


def _ran_by(target: str, importer: str):
    """The rooms an import of target runs: target, and each package above it that the importer is outside of."""
    yield target
    parts = target.split(".")
    for end in range(1, len(parts)):
        package = ".".join(parts[:end])
        if not (importer == package or importer.startswith(package + ".")):
            yield package


def _strongly_connected(rooms, arrows) -> list[list[str]]:
    """Tarjan's strongly connected sets, without recursion."""
    following: dict[str, list[str]] = {room: [] for room in rooms}
    for source, target in sorted(arrows):
        following[source].append(target)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups = []
    for start in rooms:
        if start in index:
            continue
        work = [(start, 0)]
        while work:
            room, position = work.pop()
            if position == 0:
                index[room] = low[room] = len(index)
                stack.append(room)
                on_stack.add(room)
            for offset, target in enumerate(following[room][position:], position):
                if target not in index:
                    work.append((room, offset + 1))
                    work.append((target, 0))
                    break
                if target in on_stack:
                    low[room] = min(low[room], index[target])
            else:
                if low[room] == index[room]:
                    group = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        group.append(member)
                        if member == room:
                            break
                    groups.append(group)
                if work:
                    parent = work[-1][0]
                    low[parent] = min(low[parent], low[room])
    return groups


def figures(house: House) -> dict[str, int]:
    """The house in five numbers."""
    floors = house.floors()
    return {"rooms": len(house.rooms), "floors": 1 + max(floors.values(), default=-1),
            "arrows": len(house.arrows), "back arrows": len(house.back_arrows()),
            "circles": len(house.circles())}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--floors", action="store_true", help="list each floor's rooms")
    parser.add_argument("--arrows", action="store_true", help="list every arrow")
    parser.add_argument("--at", metavar="REF", help="draw the house of this commit")
    options = parser.parse_args()
    if options.at:
        with tempfile.TemporaryDirectory() as folder:
            archive = subprocess.run(["git", "-C", str(REPO), "archive", options.at, f"src/{PACKAGE}"],
                                     check=True, capture_output=True).stdout
            subprocess.run(["tar", "-x", "-C", folder], input=archive, check=True)
            house = draw(Path(folder) / "src" / PACKAGE)
    else:
        house = draw(REPO / "src" / PACKAGE)
    print(", ".join(f"{count} {name}" for name, count in figures(house).items()))
    if options.floors:
        floors = house.floors()
        for floor in range(max(floors.values(), default=-1), -1, -1):
            print(f"floor {floor}: {' '.join(sorted(room for room, at in floors.items() if at == floor))}")
    if options.arrows:
        for source, target in sorted(house.arrows):
            print(f"{source} -> {target}")
    unplaced = sorted(set(house.rooms) - set(layer_of(house.rooms, LAYERS)))
    if unplaced and LAYERS:
        print(f"in no layer: {' '.join(unplaced)}")
    for source, target in house.back_arrows():
        print(f"back up: {source} -> {target}")
    for circle in house.circles():
        print(f"circle of {len(circle)}: {' '.join(circle)}")


if __name__ == "__main__":
    main()
