"""docs/architecture.svg, the README's picture, shows every function template.yaml declares, and is what
docs/architecture.py draws from it today."""

from __future__ import annotations

import importlib.util
import re

from tests.conftest import ROOT
from warden_local.template import Template

SVG = ROOT / "docs" / "architecture.svg"


def drawer():
    spec = importlib.util.spec_from_file_location("architecture", ROOT / "docs" / "architecture.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_picture_names_every_function_of_the_template():
    functions = set(Template(ROOT / "template.yaml").functions)
    assert len(functions) == 8
    titles = set(re.findall(r'<text [^>]*class="title">([^<]+)</text>', SVG.read_text()))
    assert functions <= titles


def test_the_picture_is_up_to_date():
    module = drawer()
    assert SVG.read_text() == module.draw(module.template_functions()), "run: .venv/bin/python docs/architecture.py"


def test_a_function_missing_from_the_picture_is_refused():
    module = drawer()
    try:
        module.draw([*module.template_functions(), "NewFunction"])
    except SystemExit as exc:
        assert "NewFunction" in str(exc)
    else:
        raise AssertionError("a function the picture lacks must fail the drawing")


def test_the_readme_shows_the_picture():
    assert "](docs/architecture.svg)" in (ROOT / "README.md").read_text()
