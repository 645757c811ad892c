"""`desabot check`: every problem in config, texts and FAQ, as ``file:line: message``."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from bot import yamlfile
from bot.app import menu_topic_problems
from bot.config import LANGUAGES, Config, ConfigError, load_config
from bot.conversation import COMMANDS, TEXT_KEYS
from bot.faq_commands import check_faq
from bot.texts import check_texts
from bot.yamlfile import LineDict, Problem


@dataclass(frozen=True)
class Report:
    errors: list[Problem]
    warnings: list[Problem]

    def lines(self) -> list[str]:
        return [str(p) for p in self.errors] + [
            f"{p.file}:{p.line}: warning: {p.message}"
            if p.line
            else f"{p.file}: warning: {p.message}"
            for p in self.warnings
        ]


def check_all(config_path: Path) -> Report:
    try:
        config = load_config(config_path)
    except ConfigError as exc:
        return Report([exc], [])
    errors = check_texts(config.texts_dir)
    errors.extend(core_text_problems(config.texts_dir))
    faq, faq_problems = check_faq(config)
    errors.extend(faq_problems)
    errors.extend(menu_topic_problems(config, faq))
    return Report(errors, unset_value_warnings(config))


def core_text_problems(texts_dir: Path) -> list[Problem]:
    """Every text the core says exists; every command listed for the menu is one it knows."""
    problems = []
    for lang in LANGUAGES:
        path = texts_dir / f"{lang}.yaml"
        try:
            table = yamlfile.load(path)
        except Problem:
            continue  # already reported by check_texts
        if not isinstance(table, dict):
            continue
        for key in TEXT_KEYS:
            if key not in table:
                problems.append(Problem(path, None, f"{key}: missing (the bot needs this text)"))
        commands = table.get("commands")
        for name in commands if isinstance(commands, dict) else ():
            if name not in COMMANDS:
                known = ", ".join(sorted(COMMANDS))
                problems.append(
                    Problem(
                        path,
                        commands.line_of(name),
                        f"commands.{name}: unknown command; known: {known}",
                    )
                )
    return problems


def unset_value_warnings(config: Config) -> list[Problem]:
    """Office details left empty: answers and texts drop the lines that need them."""
    data = yamlfile.load(config.path)
    warnings = []
    for key in config.unset_office_values():
        _, office, field = key.split(".")
        line = _line_of(data, "offices", office, field)
        warnings.append(
            Problem(config.path, line, f"{key} is not set; lines that need it are left out")
        )
    if not config.telegram.staff_group_id:
        line = _line_of(data, "telegram", "staff_group_id")
        message = (
            "telegram.staff_group_id is not set; questions for officers are not forwarded "
            "(villagers see the contact details instead)"
        )
        warnings.append(Problem(config.path, line, message))
    elif not any(office.hours.strip() for office in config.offices.values()):
        line = _line_of(data, "offices", "bp3mi", "hours")
        message = (
            "no office hours are set (offices.*.hours); villagers who ask an officer are not "
            "told when to expect the answer"
        )
        warnings.append(Problem(config.path, line, message))
    return warnings


def _line_of(data: object, *keys: str) -> int | None:
    line = None
    for key in keys:
        if not isinstance(data, LineDict):
            break
        line = data.line_of(key)
        data = data.get(key)
    return line
