"""The general cleaner and ingest: synthetic samples per kind of chrome, the real seeds, refusals.

Chinese samples and expectations live in tests/fixtures/clean/ (cases.yaml, seeds.yaml).
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
import yaml

from drafter.errors import DrafterError, InputError
from drafter.knowledge.clean import clean, load_rules, rejoin_pages
from drafter.knowledge.ingest import ingest, load_front_matter, render, slug_for
from drafter.text import decode as textio

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "clean"
SEEDS = Path(__file__).resolve().parents[3] / "shared" / "seeds"
REPO = Path(__file__).resolve().parents[2]
CASES = yaml.safe_load((FIXTURES / "cases.yaml").read_text(encoding="utf-8"))
SEED_EXPECT = yaml.safe_load((FIXTURES / "seeds.yaml").read_text(encoding="utf-8"))

needs_seeds = pytest.mark.skipif(not SEEDS.is_dir(), reason=f"seed manuals not found at {SEEDS}")


def ingest_one(path: Path, out: Path) -> tuple[dict, str]:
    [report] = ingest([path], out)
    return load_front_matter(report.output)


def is_verbatim(cleaned: str, raw: str) -> bool:
    """Every non-space character of the cleaned text, in order, is taken from the raw page."""
    pos = 0
    for ch in re.sub(r"\s", "", cleaned):
        pos = raw.find(ch, pos)
        if pos < 0:
            return False
        pos += 1
    return True


# ---------------------------------------------------------------- synthetic samples


@pytest.mark.parametrize("name", sorted(CASES))
def test_sample_chrome_goes_and_content_stays(name: str, tmp_path: Path) -> None:
    case = CASES[name]
    meta, body = ingest_one(FIXTURES / name, tmp_path)
    assert meta["title"] == case["title"]
    assert meta["source_site"] == case["source_site"]
    assert meta["source_file"] == name
    for text in case["keep"]:
        assert text in body, f"{name}: lost {text!r}"
    for text in case["drop"]:
        assert text not in body, f"{name}: kept chrome {text!r}"
    assert not re.search(r"\n{3,}| {2,}| \n|\n ", body), "whitespace not normalised"


@pytest.mark.parametrize("name", sorted(CASES))
def test_sample_text_is_verbatim(name: str) -> None:
    raw = textio.decode((FIXTURES / name).read_bytes())
    manual = clean(raw, filename=name)
    assert is_verbatim(manual.text, raw)


def test_html_is_recognised_by_content_not_only_extension(tmp_path: Path) -> None:
    as_txt = tmp_path / "page.txt"
    shutil.copy(FIXTURES / "news_page.html", as_txt)
    raw = as_txt.read_text(encoding="utf-8")
    assert clean(raw, filename="page.txt").text == clean(raw, filename="news_page.html").text


def test_explicit_title_wins_and_the_heading_stays_once() -> None:
    """The page's heading is the manual's own first line, once (copies above it go)."""
    raw = (FIXTURES / "related_list.txt").read_text(encoding="utf-8")
    detected = clean(raw, filename="related_list.txt")
    manual = clean(raw, filename="related_list.txt", title="X-Title")
    assert manual.title == "X-Title"
    assert manual.text == detected.text
    assert manual.text.startswith(detected.title + "\n")
    assert manual.text.count(detected.title) == 1
    assert any(d.text == detected.title for d in detected.dropped)


def test_page_counters_need_a_run_from_one_with_a_cut() -> None:
    rules = load_rules()
    long = "a" * 120
    # counters from 2, or pages that all end a sentence, are left alone
    assert rejoin_pages(f"2、{long}\n\n3、{long}", rules) == f"2、{long}\n\n3、{long}"
    assert rejoin_pages(f"1、{long}.\n\n2、{long}.", rules) == f"1、{long}.\n\n2、{long}."
    assert rejoin_pages(f"1、{long}\n\n2、b{long}", rules) == f"{long}b{long}"


# ---------------------------------------------------------------- refusals


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("binary.txt", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00"),
        ("empty.txt", b""),
        ("blank.md", b"  \n\t\n"),
        ("latin1.txt", "caf\xe9 cr\xe8me br\xfbl\xe9e, d\xe9j\xe0 vu".encode("latin-1")),
        ("slides.pptx", b"PK\x03\x04"),
    ],
)
def test_unusable_files_are_refused_with_their_name(name: str, data: bytes, tmp_path: Path) -> None:
    path = tmp_path / name
    path.write_bytes(data)
    with pytest.raises(InputError) as err:
        ingest([path], tmp_path / "out")
    assert name in str(err.value)
    assert "\n" not in str(err.value)
    assert not (tmp_path / "out").exists()


def test_a_page_of_chrome_only_is_not_a_manual(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="chrome_only.txt"):
        ingest([FIXTURES / "chrome_only.txt"], tmp_path)


def test_missing_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="nope.txt"):
        ingest([tmp_path / "nope.txt"], tmp_path)


def test_nothing_is_written_when_one_file_of_a_batch_fails(tmp_path: Path) -> None:
    bad = tmp_path / "bad.txt"
    bad.write_bytes(b"\x00\x01\x02")
    with pytest.raises(InputError, match="bad.txt"):
        ingest([FIXTURES / "download_notice.txt", bad], tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_two_files_with_one_slug_are_refused(tmp_path: Path) -> None:
    a, b = tmp_path / "a" / "Same_Name.txt", tmp_path / "b" / "same-name.md"
    for path in (a, b):
        path.parent.mkdir()
        shutil.copy(FIXTURES / "download_notice.txt", path)
    with pytest.raises(InputError, match="same-name"):
        ingest([a, b], tmp_path / "out")


def test_bad_cleaning_rules_are_named(tmp_path: Path) -> None:
    rules = tmp_path / "cleaning.yaml"
    rules.write_text("line_patterns:\n  download: ['(unclosed']\n", encoding="utf-8")
    with pytest.raises(DrafterError, match=r"\(unclosed"):
        load_rules(rules)


# ---------------------------------------------------------------- output files


def test_slugs_are_stable_ascii() -> None:
    assert slug_for(Path("003_e209faa97b8e23a2.txt")) == "003-e209faa97b8e23a2"
    assert slug_for(Path("My Manual (v2).HTML")) == "my-manual-v2"
    chinese = Path(CASES["download_notice.txt"]["title"] + ".txt")
    assert re.fullmatch(r"manual-[0-9a-f]{10}", slug_for(chinese))
    assert slug_for(chinese) == slug_for(chinese)


def test_reingest_is_byte_identical_and_front_matter_round_trips(tmp_path: Path) -> None:
    source = FIXTURES / "preview_pages.txt"
    [first] = ingest([source], tmp_path)
    before = first.output.read_bytes()
    [again] = ingest([source], tmp_path)
    assert again.output.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["preview-pages.md"]  # no temp files left
    meta, body = load_front_matter(first.output)
    manual = clean(source.read_text(encoding="utf-8"), filename=source.name)
    assert body == manual.text
    assert meta == {
        "title": manual.title,
        "source_file": manual.source_file,
        "source_site": manual.source_site,
    }
    assert render(manual).encode("utf-8") == before


def test_an_ingested_manual_can_be_ingested_again(tmp_path: Path) -> None:
    [first] = ingest([FIXTURES / "news_page.html"], tmp_path / "one")
    [second] = ingest([first.output], tmp_path / "two")
    assert load_front_matter(second.output)[1] == load_front_matter(first.output)[1]
    assert second.title == first.title


def test_default_output_is_the_knowledge_manuals_folder(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("DRAFTER_KNOWLEDGE", str(tmp_path / "kb"))  # no cleaning.yaml there
    [report] = ingest([FIXTURES / "disclaimers.txt"])
    assert report.output == tmp_path / "kb" / "manuals" / "disclaimers.md"
    assert report.output.is_file()


def test_a_folder_ingests_its_manuals(tmp_path: Path) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    for name in ("disclaimers.txt", "news_page.html"):
        shutil.copy(FIXTURES / name, folder / name)
    (folder / "notes.csv").write_text("a,b\n", encoding="utf-8")
    reports = ingest([folder], tmp_path / "out")
    assert [r.slug for r in reports] == ["disclaimers", "news-page"]


def test_no_front_matter_means_whole_body(tmp_path: Path) -> None:
    path = tmp_path / "plain.md"
    path.write_text("---x\nbody\n", encoding="utf-8")
    assert load_front_matter(path) == ({}, "---x\nbody\n")


# ---------------------------------------------------------------- the real seeds


@pytest.fixture(scope="module")
def seed_manuals(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[dict, str]]:
    out = tmp_path_factory.mktemp("manuals")
    reports = ingest(sorted(SEEDS.iterdir()), out)
    return {r.source.name: load_front_matter(r.output) for r in reports}


@needs_seeds
def test_seeds_lose_all_chrome(seed_manuals: dict[str, tuple[dict, str]]) -> None:
    assert len(seed_manuals) == 5
    for name, (_, body) in seed_manuals.items():
        for term in SEED_EXPECT["chrome_terms"]:
            assert term not in body, f"{name}: chrome {term!r} remains"


@needs_seeds
def test_seeds_keep_their_content(seed_manuals: dict[str, tuple[dict, str]]) -> None:
    for name, (meta, body) in seed_manuals.items():
        assert meta["title"] == SEED_EXPECT["titles"][name]
        assert meta["source_site"] == SEED_EXPECT["sites"][name]
        assert body.endswith(SEED_EXPECT["endings"][name]), f"{name}: ends {body[-40:]!r}"
        for text in SEED_EXPECT["content"][name]:
            assert text in body, f"{name}: lost {text!r}"


@needs_seeds
def test_seed_text_is_verbatim(seed_manuals: dict[str, tuple[dict, str]]) -> None:
    for name, (_, body) in seed_manuals.items():
        assert is_verbatim(body, (SEEDS / name).read_text(encoding="utf-8")), name


@needs_seeds
def test_committed_manuals_equal_a_fresh_ingest(tmp_path: Path) -> None:
    committed = REPO / "knowledge" / "manuals"
    for report in ingest(sorted(SEEDS.iterdir()), tmp_path):
        mine = committed / report.output.name
        assert mine.is_file(), f"{mine} is missing: run ingest over the seeds"
        assert mine.read_bytes() == report.output.read_bytes(), (
            f"{mine.name} drifted from the seeds"
        )


def test_the_cleaning_suite_scores_kept_content_and_removed_chrome():
    from drafter.evaluation.cleaning import score_page

    cleaned = "退换货规范\n客户申请退款后，客服在2小时内审核。\n"
    s = score_page(
        cleaned,
        ["退换货规范", "客户申请退款后，客服在2小时内审核。", "第三条 不存在"],
        ["分享到朋友圈", "退换货规范"],
    )
    assert s["content_lost"] == ["第三条 不存在"]
    assert s["chrome_kept"] == ["退换货规范"]  # a whole cleaned line equal to a chrome label


# ---------------------------------------------------------------- the cleaning report


def test_every_line_left_out_is_reported_with_its_reason() -> None:
    raw = (FIXTURES / "structure.txt").read_text(encoding="utf-8")
    manual = clean(raw, filename="structure.txt")
    kept = {line for line in manual.text.split("\n") if line.strip()}
    reported = {d.text for d in manual.dropped}
    assert manual.dropped and all(d.reason and d.line >= 1 for d in manual.dropped)
    # nothing vanishes: each line of the page is kept or reported
    for line in (x.strip() for x in raw.split("\n")):
        if line:
            assert line in kept or line in reported, line
    assert manual.kept_lines == len([x for x in manual.text.split("\n") if x.strip()])
    reasons = {d.text: d.reason for d in manual.dropped}
    assert reasons["刘洋 4月1日 10:26"].startswith("署名和时间")
    assert reasons["阅读 1.2万 · 点赞 35 · 收藏 8"].startswith("阅读数")
    assert reasons["张三 8842"].startswith("在页面上重复出现")


def test_a_line_the_owner_keeps_stays() -> None:
    raw = (FIXTURES / "structure.txt").read_text(encoding="utf-8")
    line = "这个时效是不是要改成48小时？"
    assert line not in clean(raw, filename="structure.txt").text
    again = clean(raw, filename="structure.txt", keep={line})
    assert line in again.text
    assert line not in {d.text for d in again.dropped}


def test_ingest_dry_run_reports_and_writes_nothing(tmp_path: Path, capsys) -> None:
    from drafter.cli.main import main

    out = tmp_path / "out"
    code = main(["ingest", "--dry-run", "--out", str(out), str(FIXTURES / "structure.txt")])
    printed = capsys.readouterr().out
    assert code == 0 and not out.exists()
    assert "试运行，未写入" in printed and "保留" in printed and "去掉" in printed
    assert "署名和时间（作者、评论或编辑记录）：刘洋 4月1日 10:26" in printed
    line = "这个时效是不是要改成48小时？"
    code = main(
        ["ingest", "--out", str(out), "--keep", line, "--json", str(FIXTURES / "structure.txt")]
    )
    report = json.loads(capsys.readouterr().out)[0]
    assert code == 0 and line in (out / "structure.md").read_text(encoding="utf-8")
    assert report["written"] is True and report["kept_lines"] > 0
    assert all(set(d) == {"line", "text", "reason"} for d in report["dropped"])
