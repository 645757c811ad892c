"""Shared fixtures: a config file in a temporary folder using the bundled FAQ and texts."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
import yaml

from auxil.chat import STAFF
from bot.app import App, open_app
from bot.config import Config, load_config
from bot.domain.store import Database

REPO = Path(__file__).resolve().parent.parent


def write_config(directory: Path, **overrides: object) -> Path:
    """A config.yaml in ``directory`` with the bundled FAQ and texts and a fresh database."""
    data: dict = {
        "database": str(directory / "desabot.sqlite3"),
        "faq_dir": str(REPO / "faq"),
        "texts_dir": str(REPO / "texts"),
        "villages": ["Langaleso", "Sibowi", "Pesaku", "Kaleke", "Baluase"],
        # no quiet hours unless a test sets them: tests must not depend on the time of day
        "broadcasts": {"quiet_start_hour": 0, "quiet_end_hour": 0},
        "offices": {
            "bp3mi": {"name": "BP3MI Sulawesi Tengah", "phone": "0451-000-TEST"},
            "imigrasi": {
                "name": "Kantor Imigrasi Kelas I TPI Palu",
                "address": "Jalan Kartini, Palu",
            },
        },
    }
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(data.get(key), dict):
            data[key] = {**data[key], **value}
        else:
            data[key] = value
    path = directory / "config.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


@pytest.fixture(autouse=True)
def prompt_outbox(monkeypatch):
    """The delivery worker in this process looks at the outbox every 0.2 s, not 2 s: a row a
    test writes straight into the table (as `desabot broadcast` from another process would)
    is picked up at once. `desabot run` started as a process keeps its 2 s."""
    import bot.delivery.worker as worker

    monkeypatch.setattr(worker, "POLL_SECONDS", 0.2)


@pytest.fixture
def make_config(tmp_path: Path) -> Callable[..., Config]:
    def make(**overrides: object) -> Config:
        return load_config(write_config(tmp_path, **overrides))

    return make


@pytest.fixture
def config(make_config: Callable[..., Config]) -> Config:
    return make_config()


@pytest.fixture
async def app(config: Config) -> AsyncIterator[App]:
    async with open_app(config) as app:
        yield app


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    """A fresh database file, for tests of the domain layer without the rest of the bot."""
    database = await Database.open(tmp_path / "bot.sqlite3")
    yield database
    await database.close()


@pytest.fixture
def staffed(app: App) -> App:
    """The app, with user STAFF (auxil/chat.py) a staff member on Telegram and in tests."""
    app.settings.staff_ids = frozenset({("telegram", STAFF), ("test", STAFF)})
    return app
