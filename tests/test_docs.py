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


def test_env_example_lists_every_setting():
    from pathlib import Path

    example = (Path(__file__).resolve().parents[1] / ".env.example").read_text(encoding="utf-8")
    missing = [n for n in Settings.model_fields if f"NAVIYAM_{n.upper()}=" not in example]
    assert not missing, f"settings missing from .env.example: {missing}"


def test_version_and_config_commands():
    from typer.testing import CliRunner

    from naviyam import __version__
    from naviyam.cli.info import masked

    res = CliRunner().invoke(app, ["--version"])
    assert res.exit_code == 0 and __version__ in res.output
    assert masked("admin_api_key", "supersecretvalue123") == "su******23"
    assert "pw" not in masked("database_url", "postgresql+psycopg://naviyam:pw@db:5432/naviyam")
    assert "topsecret" not in masked("redis_url", "redis://:topsecret@cache:6379/0")
    from naviyam.config import get_settings

    get_settings.cache_clear()
    try:
        res = CliRunner().invoke(app, ["config"], env={"NAVIYAM_ADMIN_API_KEY": "supersecretvalue123",
                                                       "COLUMNS": "200"})
    finally:
        get_settings.cache_clear()
    assert res.exit_code == 0 and "NAVIYAM_TIMEZONE" in res.output and "supersecretvalue123" not in res.output
    assert "su******23" in res.output  # the key's row is there, masked


#: Commands whose help may stay English: none (kept as a named place for a justified exception).
_ENGLISH_HELP_MODULES: set[str] = set()
_ENGLISH_HELP_GROUPS: set[str] = set()
#: Options click and Typer add by themselves (--help, shell completion).
_BUILTIN_OPTIONS = {"help", "install_completion", "show_completion"}


def _has_hangul(text) -> bool:
    return any("\uac00" <= ch <= "\ud7a3" for ch in text or "")


def _walk(cmd, path=()):
    yield path, cmd
    for name, sub in getattr(cmd, "commands", {}).items():
        yield from _walk(sub, (*path, name))


def test_every_command_and_option_has_korean_help():
    """Issue 16: the operators are Korean, so every command's and option's help is Korean."""
    missing = []
    for path, cmd in _walk(typer.main.get_command(app)):
        callback = getattr(cmd, "callback", None)
        if getattr(callback, "__module__", None) in _ENGLISH_HELP_MODULES:
            continue
        if path and path[-1] in _ENGLISH_HELP_GROUPS and hasattr(cmd, "commands"):
            continue
        name = "naviyam " + " ".join(path) if path else "naviyam"
        if not _has_hangul(cmd.help):
            missing.append(f"{name}: {cmd.help!r}")
        for param in cmd.params:
            if param.name in _BUILTIN_OPTIONS:
                continue
            if not _has_hangul(getattr(param, "help", None)):
                missing.append(f"{name} {param.opts[0]}: {getattr(param, 'help', None)!r}")
    assert not missing, "help without Korean:\n" + "\n".join(missing)
