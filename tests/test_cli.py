"""The command line is parsing and dispatch: commands implemented outside the product (bench/) come in
from the entry point, take their place in `--help`, and run like the product's own."""
import argparse

import pytest

import bench
from mlplatform import cli


def _names(p: argparse.ArgumentParser) -> list[str]:
    sub = next(a for a in p._actions if isinstance(a, argparse._SubParsersAction))
    return list(sub.choices)


def test_the_product_parser_has_no_benchmarks_and_app_py_adds_them_in_order():
    assert "bench" not in _names(cli.parser()) and "bench-scale" not in _names(cli.parser())
    assert _names(cli.parser(bench.COMMANDS)) == list(cli.ORDER)


def test_an_extra_command_is_dispatched_with_its_arguments(capsys):
    seen = []

    def arguments(s):
        s.add_argument("--n", type=int, default=1)

    extra = cli.Command("demo", "a command from outside the product", arguments, lambda a: seen.append(a.n) or 7)
    assert cli.main(["demo", "--n", "3"], extra=(extra,)) == 7 and seen == [3]
    assert _names(cli.parser((extra,)))[-1] == "demo"  # not in ORDER: last
    with pytest.raises(SystemExit):
        cli.main(["demo"])  # the product alone does not know it
    assert "invalid choice: 'demo'" in capsys.readouterr().err
