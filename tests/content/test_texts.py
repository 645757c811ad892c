"""User-facing texts: data files per language, checked, and filled without empty lines."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from bot.cli.check import needed_texts
from bot.content.texts import check_texts, fill, load_texts

REPO = Path(__file__).resolve().parents[2]
TEXT_KEYS = needed_texts()  # what the features, the core and the channels declare
# a text key as the code says it: ctx.t("key"), ctx.notice("key"), ctx.row("key", ...),
# ctx.button("key", ...), texts.get(lang, "key")
USED = r"""(?:\.t|\.notice|\.row|\.button|texts\.get)\(\s*(?:[\w.]+,\s*)?f?["']([a-z_{}]+)["']"""


def test_fill_leaves_out_lines_whose_value_is_not_set():
    template = "Kantor {bp3mi.name}\nTelepon: {bp3mi.phone}\nAlamat: {bp3mi.address}\nSelesai"
    text = fill(template, {"bp3mi.name": "BP3MI", "bp3mi.phone": "", "bp3mi.address": "Jl. X"})
    assert text == "Kantor BP3MI\nAlamat: Jl. X\nSelesai"


def test_fill_does_not_expand_placeholders_inside_values():
    assert (
        fill("Halo {name}", {"name": "{bp3mi.phone}", "bp3mi.phone": "1"}) == "Halo {bp3mi.phone}"
    )


def test_bundled_texts_are_clean():
    assert check_texts(REPO / "texts") == []


def test_every_text_key_the_code_uses_is_declared_and_exists_in_both_languages():
    texts = load_texts(REPO / "texts", {})
    source = "\n".join(p.read_text() for p in (REPO / "bot").rglob("*.py"))
    used = set(re.findall(USED, source))
    used = {k.replace("{lang}", lang) for k in used for lang in ("id", "en")}
    patterns = {k for k in used if "{" in k}  # e.g. f"staff_ask_{step}": a family of keys
    for pattern in patterns:
        prefix = pattern.split("{")[0]
        assert any(k.startswith(prefix) for k in TEXT_KEYS), f"no declared key for {pattern}"
    used -= patterns
    assert len(used) > 20, "the scan found too few keys: the pattern is out of date"
    assert used <= set(TEXT_KEYS), f"used but not declared in TEXT_KEYS: {used - set(TEXT_KEYS)}"
    for lang in ("id", "en"):
        missing = set(TEXT_KEYS) - texts.by_language[lang].keys()
        assert not missing, f"{lang}.yaml lacks {missing}"


def test_a_missing_key_and_a_changed_placeholder_are_reported_with_file_and_line(tmp_path):
    shutil.copytree(REPO / "texts", tmp_path, dirs_exist_ok=True)
    en = (tmp_path / "en.yaml").read_text()
    en = en.replace("stale_button:", "stale_buton:").replace("Hello {name}!", "Hello {nama}!")
    (tmp_path / "en.yaml").write_text(en)
    problems = [str(p) for p in check_texts(tmp_path)]
    assert any("en.yaml:1: stale_button: missing" in p for p in problems)
    assert any(re.search(r"en\.yaml:\d+: stale_buton: not in id\.yaml", p) for p in problems)
    assert any(re.search(r"en\.yaml:\d+: welcome: placeholders", p) for p in problems)


def test_broken_yaml_is_reported_with_its_line(tmp_path):
    shutil.copytree(REPO / "texts", tmp_path, dirs_exist_ok=True)
    (tmp_path / "id.yaml").write_text("menu: ok\nhelp: [unclosed\n")
    problems = [str(p) for p in check_texts(tmp_path)]
    assert any(re.search(r"id\.yaml:\d+: not valid YAML", p) for p in problems)


def test_a_text_cut_short_by_a_yaml_comment_is_reported(tmp_path):
    for name in ("id.yaml", "en.yaml"):
        shutil.copy(REPO / "texts" / name, tmp_path / name)
    path = tmp_path / "id.yaml"
    path.write_text(
        path.read_text(encoding="utf-8") + "\nbutton_extra: 🛑 Batalkan #{id}\n", encoding="utf-8"
    )
    problems = [str(p) for p in check_texts(tmp_path)]
    assert any("YAML comment" in p and f"{path}:" in p for p in problems), problems
