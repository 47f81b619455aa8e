"""Every setting is documented in README.md and shown by `drafter --help`."""

from pathlib import Path

from drafter.cli.main import build_parser
from drafter.settings import SETTINGS

README = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")


def test_readme_documents_every_setting():
    missing = [name for name in SETTINGS if f"`{name}`" not in README]
    assert not missing


def test_help_lists_every_setting():
    text = build_parser().format_help()
    assert all(name in text for name in SETTINGS)


def test_readme_opens_with_the_two_commands():
    head = README[:400]
    assert "make run" in head and "make test" in head
