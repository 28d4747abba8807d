"""The house drawn from the imports (bench/house.py): no circle, no arrow running back up the declared layers."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def house():
    """bench/house.py, loaded as a module."""
    spec = importlib.util.spec_from_file_location("house", REPO / "bench" / "house.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["house"] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def drawn(house):
    return house.draw(REPO / "src" / "mco_newsletter")


def test_no_circle_between_rooms(drawn):
    """No module imports, through any chain of imports, one that imports it back (lazy imports included)."""
    assert drawn.circles() == []


def test_every_room_has_a_layer(house, drawn):
    """A new module is given its place in bench/house.py's LAYERS, so that its arrows are checked."""
    assert sorted(set(drawn.rooms) - set(house.layer_of(drawn.rooms, house.LAYERS))) == []


def test_no_arrow_runs_back_up(drawn):
    """No module imports one of a layer above its own (the settings below config, the web above delivery …)."""
    assert drawn.back_arrows() == []


def test_the_drawing_sees_circles_and_back_arrows(house, tmp_path):
    """A package with a lazy circle, a package's __init__ run from outside and an arrow up is drawn as such."""
    package = tmp_path / "mco_newsletter"
    (package / "web").mkdir(parents=True)
    (package / "__init__.py").write_text('"""The package."""\n')
    (package / "errors.py").write_text("def failure():\n    from .web.app import page\n")
    (package / "issue.py").write_text("from .errors import failure\n")
    (package / "web" / "__init__.py").write_text("from ..issue import failure\n")
    (package / "web" / "app.py").write_text("import mco_newsletter.errors\n")
    drawn = house.draw(package)
    assert drawn.rooms == ("errors", "issue", "web", "web.app")
    assert drawn.arrows == {("errors", "web.app"), ("errors", "web"), ("issue", "errors"), ("web", "issue"),
                            ("web.app", "errors")}
    assert drawn.circles() == [["errors", "issue", "web", "web.app"]]
    layers = (("ground", ("errors", "issue")), ("web", ("web", "web.*")))
    assert drawn.back_arrows(layers) == [("errors", "web"), ("errors", "web.app")]
    assert drawn.floors() == dict.fromkeys(drawn.rooms, 0)
