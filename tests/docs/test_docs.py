"""The docs say what the code does: the routing table in docs/architecture.md is the
router's own, and every module path the docs name exists."""

from __future__ import annotations

import re

from bot.app import build_router
from conftest import REPO

ARCHITECTURE = REPO / "docs" / "architecture.md"
EXAMPLES = {"bot/features/quiz.py", "bot/channels/sms.py"}  # the how-to examples


def test_the_routing_table_in_the_architecture_doc_is_current():
    text = ARCHITECTURE.read_text(encoding="utf-8")
    block = text.split("<!-- routes -->\n```\n", 1)[1].split("```\n<!-- /routes -->", 1)[0]
    assert block.splitlines() == build_router().describe(), (
        "docs/architecture.md: paste the output of Router.describe() between the markers"
    )


def test_every_path_the_docs_name_exists():
    for doc in (ARCHITECTURE, REPO / "README.md"):
        named = set(re.findall(r"\bbot/[\w/]+(?:\.\w+)?", doc.read_text(encoding="utf-8")))
        missing = {p for p in named - EXAMPLES if not (REPO / p.rstrip("/")).exists()}
        assert not missing, f"{doc.name} names {sorted(missing)}"
