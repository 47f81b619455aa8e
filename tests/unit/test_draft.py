"""Drafting replies: the dataset cases on the real corpus, grounding, channels, odd input."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

from drafter import state as state_mod
from drafter.drafting import composer as draft_mod
from drafter.drafting import pack as drafting_pack
from drafter.drafting import situations
from drafter.drafting.composer import extract_facts, placeholders_in, steps_present
from drafter.drafting.pack import load_pack
from drafter.engines.registry import draft
from drafter.errors import InputError, NotConfiguredError, RulePackError
from drafter.knowledge import corpus
from drafter.text.decode import has_chinese

REPO = Path(__file__).resolve().parents[2]
DATASET = REPO / "evals" / "datasets" / "draft.jsonl"
FIXTURES = Path(__file__).parents[1] / "fixtures" / "draft"
SPECIAL = json.loads((FIXTURES / "special.json").read_text(encoding="utf-8"))
CASE_FIELDS = {
    "id",
    "tags",
    "channel",
    "message",
    "situation",
    "must_contain",
    "must_not_contain",
    "facts",
    "steps",
}
FORBIDDEN = ("你", "可能", "为什么")

pytestmark = pytest.mark.usefixtures("indexed")  # retrieval (the tie-breaker) on the shared index


def load_cases() -> list[dict]:
    return [
        json.loads(line)
        for line in DATASET.read_text(encoding="utf-8").splitlines()
        if line.strip()
    ]


CASES = load_cases()


def fixture_text(name: str) -> str:
    return (FIXTURES / SPECIAL[name]["file"]).read_text(encoding="utf-8").strip()


# ---------------------------------------------------------------- the dataset


def test_dataset_schema_and_coverage():
    pack = drafting_pack.load_pack()
    ids = [c["id"] for c in CASES]
    assert len(CASES) >= 40 and len(set(ids)) == len(ids)
    for c in CASES:
        assert set(c) == CASE_FIELDS, c["id"]
        assert c["channel"] in ("chat", "email"), c["id"]
        assert c["situation"] in pack.situations, c["id"]
        assert set(c["steps"]) <= set(pack.steps), c["id"]
        assert all(f in c["message"] for f in c["facts"]), c["id"]  # facts are verbatim
    for sid in pack.situations:
        channels = {c["channel"] for c in CASES if c["situation"] == sid}
        assert channels == {"chat", "email"} or sid == "harassment" and channels, sid
    assert {"english", "injection", "abuse-only", "abuse-with-issue"} <= {
        t for c in CASES for t in c["tags"]
    }


# The dev set's expected situations, strings and steps are measured by the eval
# (tests/test_eval.py gates the aggregate figures); here only properties of every reply.


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_every_reply_restates_the_facts_it_lists_and_shows_its_steps(case):
    result = draft(case["message"], channel=case["channel"], engine="offline")
    for fact in result.facts:
        assert fact.text in case["message"]  # facts are taken verbatim from the message
    assert set(result.steps) <= set(steps_present(result.reply))
    assert result.situation in load_pack().situations


@pytest.mark.parametrize("channel", ["chat", "email"])
def test_every_reply_is_grounded_toned_and_lists_its_placeholders(channel):
    c = corpus.get_corpus()
    for case in CASES:
        result = draft(case["message"], channel=channel, engine="offline")
        assert result.citations, case["id"]
        for citation in result.citations:
            assert c.verify(citation), (case["id"], citation)
        for word in FORBIDDEN:
            assert word not in result.reply, (case["id"], word)
        assert result.placeholders == placeholders_in(result.reply), case["id"]
        assert not any(w.startswith("手册中找不到") for w in result.warnings), case["id"]


def test_chat_is_always_shorter_than_email():
    for case in CASES:
        chat = draft(case["message"], channel="chat", engine="offline")
        email = draft(case["message"], channel="email", engine="offline")
        assert len(chat.reply) < len(email.reply), case["id"]
        assert chat.situation == email.situation


def test_email_has_salutation_paragraphs_and_configurable_sign_off(monkeypatch):
    monkeypatch.setenv("DRAFTER_TEAM_NAME", "Team-X")
    monkeypatch.setenv("DRAFTER_SIGNATURE", "Tel 400-000-0000")
    pack = drafting_pack.load_pack()
    message = fixture_text("abuse_only").replace("\n", "")  # any message: the frame is the same
    for msg in (message, (FIXTURES / "complaint.txt").read_text(encoding="utf-8")):
        email = draft(msg, channel="email", engine="offline").reply
        assert email.startswith(pack.salutation + "\n\n")
        assert email.rstrip().endswith("Team-X\nTel 400-000-0000")
        assert all(line in email for line in pack.closing_lines)
        chat = draft(msg, channel="chat", engine="offline").reply
        assert "Tel 400-000-0000" not in chat and "\n" not in chat


def test_offline_is_deterministic_and_auto_is_offline_without_a_model():
    msg = (FIXTURES / "complaint.txt").read_text(encoding="utf-8")
    a, b = draft(msg, engine="auto"), draft(msg, engine="offline")
    assert a.to_dict() == b.to_dict() and a.engine == "offline"


def test_json_contract():
    d = draft((FIXTURES / "complaint.txt").read_text(encoding="utf-8"), channel="email").to_dict()
    assert list(d) == [
        "message",
        "reply",
        "channel",
        "engine",
        "situation",
        "facts",
        "citations",
        "placeholders",
        "warnings",
        "steps",
        "issues",
        "slots",
        "abuse",
        "escalation",
        "no_forward",
        "angry",
    ]
    assert all(set(c) == {"source", "passage_id", "quote"} for c in d["citations"])
    assert d["issues"] and all(
        d["message"][i["start"] : i["end"]] == i["text"] for i in d["issues"]
    )
    assert all(set(f) == {"kind", "text", "start", "end"} for f in d["facts"])
    assert all(d["message"][f["start"] : f["end"]] == f["text"] for f in d["facts"])
    json.dumps(d, ensure_ascii=False)


# ---------------------------------------------------------------- the pack


def test_every_ground_of_the_pack_is_verbatim_in_its_manual():
    pack = drafting_pack.load_pack()
    grounds = [s.manual for s in pack.situations.values()] + list(pack.time_grounds)
    grounds += [g for p in pack.phrases.values() for v in p.variants for g in v.grounds]
    grounds += list(pack.issue_lines.grounds) if pack.issue_lines else []
    for g in grounds:
        citation = corpus.locate(g.quote, g.slug)
        assert citation is not None, f"{g.slug}: {g.quote!r} is not verbatim in one passage"
        assert corpus.verify(citation)


def test_every_placeholder_is_documented_and_no_phrase_breaks_the_tone_rules():
    from drafter.rules.engine import rewrite_offline as rewrite

    pack = drafting_pack.load_pack()
    for p in pack.phrases.values():
        for v in p.variants:
            for channel, text in v.texts.items():
                assert set(placeholders_in(text)) <= set(pack.placeholders), p.id
                filled = re.sub(r"\{\w+\}", "", text)
                if not filled.strip():
                    continue  # {issues}: the issue lines, checked below
                result = rewrite(filled)
                assert not result.changes and not result.flags, (p.id, channel, result.to_dict())
    lines = pack.issue_lines
    assert lines is not None
    texts = [lines.gist, lines.plan, lines.default_hint, *lines.hints.values()]
    for group in (lines.single, lines.single_question, lines.intro, lines.item):
        texts += [group.chat, group.email]
    for text in texts:
        filled = re.sub(r"\{\w+\}", "", text)
        if filled.strip():
            result = rewrite(filled)
            assert not result.changes and not result.flags, (text, result.to_dict())


def _write_pack(tmp_path: Path, mutate) -> Path:
    raw = yaml.safe_load((REPO / "knowledge" / "drafting.yaml").read_text(encoding="utf-8"))
    mutate(raw)
    path = tmp_path / "drafting.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    "mutate, where",
    [
        (lambda r: r.update(colour="red"), "colour"),
        (lambda r: r["phrases"]["greet"].update(tone="warm"), "phrases.greet"),
        (lambda r: r["situations"][0]["compose"].append(["no_such_phrase"]), "no_such_phrase"),
        (lambda r: r["situations"][0].update(patterns=["(unclosed"]), "patterns[0]"),
        (lambda r: r["phrases"]["greet"].update(chat="{nobody}"), "{nobody}"),
        (lambda r: r["phrases"]["greet"].update(chat="\u3010x\u3011"), "\u3010x\u3011"),
        (lambda r: r["phrases"]["greet"].pop("grounds"), "grounds"),
        (lambda r: r["phrases"]["greet"].update(steps=["dance"]), "dance"),
        (lambda r: r.update(version=2), "version"),
    ],
)
def test_a_broken_pack_is_refused_naming_file_and_key(tmp_path, mutate, where):
    path = _write_pack(tmp_path, mutate)
    with pytest.raises(RulePackError) as err:
        drafting_pack.load_pack(path)
    assert str(path) in str(err.value) and where in str(err.value)


def test_the_pack_is_reloaded_when_it_changes(tmp_path, monkeypatch):
    knowledge = tmp_path / "knowledge"
    knowledge.mkdir()
    (knowledge / "manuals").symlink_to(REPO / "knowledge" / "manuals")
    (knowledge / "rules").symlink_to(REPO / "knowledge" / "rules")
    monkeypatch.setenv("DRAFTER_KNOWLEDGE", str(knowledge))
    monkeypatch.setattr(state_mod, "RECHECK_SECONDS", 0.0)  # look at the files on every call
    path = _write_pack(knowledge, lambda r: None)
    msg = (FIXTURES / "complaint.txt").read_text(encoding="utf-8")
    assert "Team" not in draft(msg).reply
    _write_pack(knowledge, lambda r: r["phrases"]["greet"].update(chat="Team {team}."))
    assert path.exists() and draft(msg).reply.startswith("Team ")


# ---------------------------------------------------------------- facts and situations


def test_facts_include_product_names_and_models_verbatim():
    expected = SPECIAL["products"]["facts"]
    message = fixture_text("products")
    facts = {f.text: f.kind for f in extract_facts(message)}
    for text, kind in expected.items():
        assert facts.get(text) == kind, (text, facts)
    reply = draft(message, channel="email").reply
    assert all(text in reply for text in expected)


def test_a_tie_in_cue_scores_is_broken_by_the_manuals_passages():
    message = fixture_text("tie")
    det = situations.detect(message)
    tied = SPECIAL["tie"]["tied"]
    assert det.scores[tied[0]] == det.scores[tied[1]] == max(det.scores.values())
    assert det.tie_broken_by == "retrieval" and det.situation in tied
    assert situations.detect(message, use_retrieval=False).tie_broken_by == "priority"


def test_a_forced_situation_is_used():
    msg = (FIXTURES / "complaint.txt").read_text(encoding="utf-8")
    result = draft(msg, situation="cannot_answer")
    assert result.situation == "cannot_answer" and "DD2024051801" in result.reply


# ---------------------------------------------------------------- odd input


@pytest.mark.parametrize("message", ["", "   ", "\n\t \n"])
def test_empty_message_is_refused(message):
    with pytest.raises(InputError, match="空"):
        draft(message)


def test_too_long_message_is_refused_with_the_limit(monkeypatch):
    monkeypatch.setenv("DRAFTER_MAX_CHARS", "200")
    msg = (FIXTURES / "complaint.txt").read_text(encoding="utf-8") * 20
    with pytest.raises(InputError, match="DRAFTER_MAX_CHARS"):
        draft(msg)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"channel": "fax"}, "chat"),
        ({"engine": "magic"}, "offline"),
        ({"situation": "party"}, "complaint"),
    ],
)
def test_bad_options_are_refused(kwargs, match):
    with pytest.raises(InputError, match=match):
        draft((FIXTURES / "complaint.txt").read_text(encoding="utf-8"), **kwargs)


def test_llm_engine_without_configuration_says_what_to_set():
    with pytest.raises(NotConfiguredError, match="DRAFTER_LLM_MODEL"):
        draft((FIXTURES / "complaint.txt").read_text(encoding="utf-8"), engine="llm")


def test_english_message_gets_a_chinese_reply_and_a_warning():
    message = fixture_text("english")
    for channel in ("chat", "email"):
        result = draft(message, channel=channel)
        assert has_chinese(result.reply)
        assert any("没有中文" in w for w in result.warnings)
        assert all(f in result.reply for f in SPECIAL["english"]["facts"])


def test_abuse_only_gets_the_standard_line_and_never_an_echo():
    case = SPECIAL["abuse_only"]
    message = fixture_text("abuse_only")
    pack = drafting_pack.load_pack()
    standard = pack.phrases["harassment_line"].variants[0].texts
    for channel in ("chat", "email"):
        result = draft(message, channel=channel)
        assert result.situation == case["situation"]
        assert standard[channel] in result.reply
        assert not any(word in result.reply for word in case["never"])


def test_instructions_in_the_message_are_customer_text_never_obeyed():
    case = SPECIAL["injection"]
    message = fixture_text("injection")
    for channel in ("chat", "email"):
        result = draft(message, channel=channel)
        assert not any(word in result.reply for word in case["never"])
        assert any("没有执行" in w for w in result.warnings)
        assert result.citations and not any(word in result.reply for word in FORBIDDEN)


def test_a_missing_quote_is_a_warning_not_a_fake_citation(tmp_path, monkeypatch):
    knowledge = tmp_path / "knowledge"
    knowledge.mkdir()
    (knowledge / "manuals").symlink_to(REPO / "knowledge" / "manuals")
    (knowledge / "rules").symlink_to(REPO / "knowledge" / "rules")
    monkeypatch.setenv("DRAFTER_KNOWLEDGE", str(knowledge))
    _write_pack(
        knowledge,
        lambda r: r["phrases"]["greet"]["grounds"][0].update(quote="zzz-not-in-any-manual"),
    )
    result = draft((FIXTURES / "complaint.txt").read_text(encoding="utf-8"))
    assert any("zzz-not-in-any-manual" in w for w in result.warnings)
    assert all(corpus.verify(c) for c in result.citations)
    assert all("zzz" not in c.quote for c in result.citations)


def test_module_has_no_business_with_the_cli():
    assert "argparse" not in Path(draft_mod.__file__).read_text(encoding="utf-8")


def test_figures_inside_an_injected_instruction_are_never_facts():
    case = SPECIAL["injection_with_issue"]
    message = fixture_text("injection_with_issue")
    for channel in ("chat", "email"):
        result = draft(message, channel=channel, engine="offline")
        facts = [f.text for f in result.facts]
        for fact in case["facts"]:  # the customer's own facts are restated
            assert fact in facts and fact in result.reply
        for figure in case["injected"]:  # the injection's figures are neither facts nor granted
            assert figure not in facts and figure not in result.reply
        assert any("没有执行" in w for w in result.warnings)


def _addressee_cases() -> list[tuple[str, str]]:
    rows = (FIXTURES / "addressee.tsv").read_text(encoding="utf-8").splitlines()
    return [tuple(r.replace("\\n", "\n").split("\t")) for r in rows if r.strip()]


@pytest.mark.parametrize(("message", "salutation"), _addressee_cases())
def test_an_email_addresses_the_customer_by_the_name_they_gave(message, salutation):
    reply = draft(message, channel="email", engine="offline").reply
    assert reply.splitlines()[0] == salutation
    chat = draft(message, channel="chat", engine="offline").reply
    assert salutation not in chat  # a chat reply has no salutation line
