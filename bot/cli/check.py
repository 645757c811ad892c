"""`desabot check`: every problem in config, texts and FAQ, as ``file:line: message``."""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path

from bot.app import build_router, menu_topic_problems
from bot.channels.registry import CHANNELS
from bot.cli.common import EXIT_OK, EXIT_PROBLEMS
from bot.config import LANGUAGES, Config, ConfigError, load_config
from bot.content.faq import check_faq
from bot.content.texts import check_texts
from bot.core.router import Router
from bot.support import yamlfile
from bot.support.yamlfile import LineDict, Problem


def add_parser(commands: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    parser = commands.add_parser(
        "check",
        parents=[common],
        help="check config, texts and FAQ for problems",
        description="check config, texts and FAQ for problems",
    )
    parser.set_defaults(handler=main)


def main(args: argparse.Namespace) -> int:
    report = check_all(args.config)
    for line in report.lines():
        print(line)
    summary = f"{len(report.errors)} error(s), {len(report.warnings)} warning(s)"
    print(summary, file=sys.stderr)
    return EXIT_PROBLEMS if report.errors else EXIT_OK


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
    errors.extend(needed_text_problems(config.texts_dir))
    faq, faq_problems = check_faq(config)
    errors.extend(faq_problems)
    errors.extend(menu_topic_problems(config, faq))
    return Report(errors, unset_value_warnings(config))


def needed_texts(router: Router | None = None) -> list[str]:
    """Every text key the features, the core and the channels say."""
    keys = list((router or build_router()).text_keys())
    return keys + [key for channel in CHANNELS for key in channel.texts]


def needed_text_problems(texts_dir: Path) -> list[Problem]:
    """Every text the bot says exists; every command listed for the menu is one it knows."""
    router = build_router()
    needed, known = needed_texts(router), router.commands()
    problems = []
    for lang in LANGUAGES:
        path = texts_dir / f"{lang}.yaml"
        try:
            table = yamlfile.load(path)
        except Problem:
            continue  # already reported by check_texts
        if not isinstance(table, dict):
            continue
        for key in needed:
            if key not in table:
                problems.append(Problem(path, None, f"{key}: missing (the bot needs this text)"))
        commands = table.get("commands")
        for name in commands if isinstance(commands, dict) else ():
            if name not in known:
                listing = ", ".join(sorted(known))
                problems.append(
                    Problem(
                        path,
                        commands.line_of(name),
                        f"commands.{name}: unknown command; known: {listing}",
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
    if not config.telegram.staff_group_id and not config.console.enabled:
        line = _line_of(data, "telegram", "staff_group_id")
        message = (
            "telegram.staff_group_id is not set and console.enabled is false; questions for "
            "officers go nowhere but a staff console served apart with accounts (villagers "
            "see the contact details instead when there is none)"
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
