"""The README can't rot: its component table is the registry's."""
import re

from conftest import ROOT
from mlplatform.commands.tables import components_table
from mlplatform.components import COMPONENTS


def test_readme_component_table_matches_the_registry():
    text = (ROOT / "README.md").read_text()
    block = re.search(r"<!-- components:start -->\n(.*?)<!-- components:end -->", text, re.S)
    assert block, "README lost its component table markers"
    assert block.group(1) == components_table(), "run `python app.py components` and paste it into README.md"


def test_every_component_module_exists():
    for c in COMPONENTS:
        assert (ROOT / "constructs/mlplatform/components" / c.name.replace('-', '_') / "__init__.py").is_file(), c.name
