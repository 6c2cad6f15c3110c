"""The README stays honest: every setting and every CLI command is documented."""

from pathlib import Path

import typer.main

from naviyam.cli import app
from naviyam.config import Settings

README = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")


def _commands(group, prefix=()):
    for name, cmd in group.commands.items():
        path = (*prefix, name)
        if hasattr(cmd, "commands"):
            yield from _commands(cmd, path)
        else:
            yield " ".join(path)


def test_every_setting_is_documented_in_the_readme():
    from naviyam.llm.settings import LLMSettings

    names = [f"NAVIYAM_{n.upper()}" for n in Settings.model_fields]
    names += [f"NAVIYAM_LLM_{n.upper()}" for n in LLMSettings.model_fields]
    missing = [n for n in names if n not in README]
    assert not missing, f"settings missing from README: {missing}"


def test_every_cli_command_is_documented_in_the_readme():
    commands = list(_commands(typer.main.get_command(app)))
    assert "data generate" in commands
    missing = [c for c in commands if f"naviyam {c}" not in README]
    assert not missing, f"commands missing from README: {missing}"


def test_readme_shows_the_two_commands():
    assert "make run" in README and "make test" in README
