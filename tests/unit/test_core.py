"""The core object, its state and its settings: one home, one freshness policy, typed settings."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from drafter import settings as settings_mod
from drafter import state as state_mod
from drafter.cli.main import build_parser
from drafter.core import Drafter
from drafter.engines import registry
from drafter.errors import SettingsError, StateError
from drafter.settings import Settings

BUNDLED = settings_mod.bundled_knowledge_dir()
PAGE = Path(__file__).parents[1] / "fixtures" / "clean" / "news_page.html"


@pytest.fixture
def knowledge(tmp_path, monkeypatch) -> Path:
    """A knowledge owner's folder, copied from the bundled one."""
    folder = tmp_path / "knowledge"
    shutil.copytree(BUNDLED, folder)
    monkeypatch.setenv("DRAFTER_KNOWLEDGE", str(folder))
    monkeypatch.setattr(state_mod, "RECHECK_SECONDS", 0.0)
    return folder


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("DRAFTER_MAX_CHARS", "2万"),
        ("DRAFTER_MAX_CHARS", "0"),
        ("DRAFTER_LLM_TIMEOUT", "twenty"),
        ("DRAFTER_LLM_RETRIES", "-1"),
        ("DRAFTER_LLM_CACHE", "maybe"),
        ("DRAFTER_LLM_CLIENT", "curl"),
    ],
)
def test_a_bad_setting_is_refused_naming_the_variable(variable, value):
    with pytest.raises(SettingsError) as err:
        Settings.from_env({variable: value})
    assert variable in str(err.value) and value in str(err.value)
    assert "\n" not in str(err.value)


def test_settings_are_typed():
    s = Settings.from_env(
        {
            "DRAFTER_MAX_CHARS": "300",
            "DRAFTER_LLM_TIMEOUT": "2.5",
            "DRAFTER_LLM_CACHE": "1",
            "DRAFTER_HOME": "~/x",
        }
    )
    assert (s.max_chars, s.llm_timeout, s.llm_cache) == (300, 2.5, True)
    assert s.home_dir == Path("~/x").expanduser()
    assert Settings.from_env({}).max_chars == 20000


def test_the_default_home_is_the_users_data_folder(monkeypatch):
    monkeypatch.delenv("DRAFTER_HOME")
    home = Settings.from_env().home_dir
    assert home.is_absolute() and "drafter" in home.parts[-1]
    assert not str(home).startswith(str(Path(settings_mod.__file__).parent))


def test_an_unwritable_home_is_one_sentence(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder", encoding="utf-8")
    app = Drafter(Settings.from_env({"DRAFTER_HOME": str(blocker / "home")}))
    with pytest.raises(StateError, match="DRAFTER_HOME"):
        app.build_index()


def test_rewriting_needs_no_writable_home(tmp_path):
    """A read-only state folder does not stop an agent's rewrite (the caches are optional)."""
    home = tmp_path / "ro"
    home.mkdir()
    home.chmod(0o500)
    try:
        result = Drafter(Settings.from_env({"DRAFTER_HOME": str(home)})).rewrite(
            "你为什么不早点说？", "offline"
        )
        assert "为什么" not in result.rewritten
    finally:
        home.chmod(0o700)


def test_editing_a_rule_file_takes_effect_in_a_running_instance(knowledge):
    app = Drafter()
    assert app.rewrite("请你等一下。", "offline").flags
    rule = knowledge / "rules" / "make-wait.yaml"
    rule.unlink()
    assert not [f for f in app.rewrite("请你等一下。", "offline").flags if f.rule == "make-wait"]


def test_editing_the_thesaurus_makes_index_rebuild(knowledge):
    app = Drafter()
    assert app.build_index().built
    assert not app.build_index().built  # nothing changed: a no-op
    synonyms = knowledge / "synonyms.yaml"
    synonyms.write_text(
        synonyms.read_text(encoding="utf-8") + "\n  - [工单, 单子]\n", encoding="utf-8"
    )
    assert app.build_index().built
    userdict = knowledge / "userdict.txt"
    userdict.write_text(userdict.read_text(encoding="utf-8") + "\n退让方案 5 n\n", encoding="utf-8")
    assert app.build_index().built


def test_a_running_instance_follows_an_edited_manual(knowledge):
    app = Drafter()
    app.build_index()
    manual = min((knowledge / "manuals").glob("*.md"))
    manual.write_text(
        manual.read_text(encoding="utf-8") + "\n遇到冰箱异响，先请客户拍一段视频。\n",
        encoding="utf-8",
    )
    hits = app.search("冰箱异响 拍视频", k=3)
    assert hits[0].slug == manual.stem


def test_ingest_writes_under_the_home_never_into_the_package(drafter_home, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)  # run from another folder
    before = sorted(p.name for p in (BUNDLED / "manuals").iterdir())
    app = Drafter()
    (report,) = app.ingest([PAGE])
    assert report.output.parent == drafter_home / "knowledge" / "manuals"
    assert sorted(p.name for p in (BUNDLED / "manuals").iterdir()) == before
    # the seeded copy holds the bundled manuals too, and the new one is searchable
    assert {p.name for p in (drafter_home / "knowledge" / "manuals").iterdir()} >= set(before)
    assert app.state.knowledge_dir == drafter_home / "knowledge"
    assert any(h.slug == report.slug for h in app.search("一线客服的反应决定结果，稳住局面", k=5))


def test_every_cli_engine_choice_comes_from_the_registry():
    parser = build_parser()
    subs = next(a for a in parser._actions if a.dest == "command").choices
    for command, names in (
        ("rewrite", registry.names(interactive=True)),
        ("draft", registry.names(interactive=True)),
        ("eval", registry.names(evaluable=True)),
    ):
        engine = next(a for a in subs[command]._actions if a.dest == "engine")
        assert tuple(engine.choices) == names


def test_two_instances_keep_their_own_settings(tmp_path):
    short = Drafter(Settings.from_env({"DRAFTER_HOME": str(tmp_path), "DRAFTER_MAX_CHARS": "5"}))
    normal = Drafter(Settings.from_env({"DRAFTER_HOME": str(tmp_path)}))
    with pytest.raises(Exception, match="超过上限 5"):
        short.rewrite("你好你好你好", "offline")
    assert normal.rewrite("你好你好你好", "offline").rewritten == "您好您好您好"
