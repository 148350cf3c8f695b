"""README documents every command, option, setting, route and sync vocabulary item the code has."""

from __future__ import annotations

import re
from dataclasses import fields
from pathlib import Path

import click
import pytest

from server.app import create_app
from server.cli import main
from server.settings import ENV_PREFIX, Settings
from sync.vocabulary import REASONS, STATUSES

README = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")


def _commands(group: click.Group, prefix: str = "commonplace") -> list[tuple[str, click.Command]]:
    found = []
    for name, command in group.commands.items():
        full = f"{prefix} {name}"
        found.append((full, command))
        if isinstance(command, click.Group):
            found.extend(_commands(command, full))
    return found


def test_quick_start_has_exactly_two_commands() -> None:
    section = README.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    assert re.findall(r"```sh\n(.+?)\n```", section, re.S) == ["make run", "make test"]
    ci = (Path(__file__).resolve().parent.parent / ".ci" / "run").read_text()
    assert "\nmake test\n" in ci


@pytest.mark.parametrize(("name", "command"), _commands(main))
def test_every_command_and_option_is_documented(name: str, command: click.Command) -> None:
    assert f"`{name}" in README, f"{name} is missing from README"
    for param in command.params:
        for opt in getattr(param, "opts", []):
            if opt.startswith("--") and opt != "--help":
                assert opt in README, f"{name} {opt} is missing from README"


def test_every_setting_is_documented() -> None:
    for f in fields(Settings):
        assert f"`{ENV_PREFIX}{f.name.upper()}`" in README, f"setting {f.name} is missing from README"


def test_every_route_is_documented(tmp_path: Path) -> None:
    app = create_app(Settings(data=tmp_path, seed=False, model="hashing"))
    for route in app.routes:
        path = re.sub(r"\{(\w+):\w+\}", r"{\1}", route.path)
        if path.startswith("/schema") and path != "/schema/openapi.json":
            continue  # Litestar's own schema routes; only the JSON schema is public
        for method in sorted(route.methods - {"OPTIONS", "HEAD"}):
            assert f"{method} {path}" in README or (path == "/schema/openapi.json" and path in README), (
                f"{method} {path} is missing from README"
            )
    app.state.db.close()


def test_sync_vocabulary_is_documented() -> None:
    for status in STATUSES:
        assert f"| `{status}` |" in README
    for reason in REASONS:
        assert f"| `{reason}` |" in README
