"""Names are facts the engines must never alter; words like 上周安装师傅 are not names."""

from pathlib import Path

import pytest

from drafter.text.facts import fact_spans

ROWS = [
    line.split("\t")
    for line in (Path(__file__).parents[1] / "fixtures" / "facts" / "names.tsv")
    .read_text(encoding="utf-8")
    .splitlines()
    if line and not line.startswith("#")
]


@pytest.mark.parametrize("text,names", ROWS, ids=[r[0][:8] for r in ROWS])
def test_names_with_honorifics(text, names):
    found = [f.text for f in fact_spans(text) if f.kind == "name"]
    assert found == [n for n in names.split("|") if n]
