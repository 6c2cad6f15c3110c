import pytest
from pydantic import ValidationError

from naviyam.config import Settings


def test_production_refuses_the_default_admin_key(monkeypatch):
    monkeypatch.delenv("NAVIYAM_ADMIN_API_KEY", raising=False)
    with pytest.raises(ValidationError, match="NAVIYAM_ADMIN_API_KEY"):
        Settings(environment="production", _env_file=None)
    assert Settings(environment="production", admin_api_key="s3cret-value", _env_file=None).admin_api_key


def test_database_url_defaults_to_a_sqlite_file_under_var(tmp_path):
    s = Settings(var_dir=tmp_path, _env_file=None, database_url=None)
    assert s.resolved_database_url == f"sqlite:///{tmp_path.as_posix()}/naviyam.db"


def test_env_var_switches_to_postgresql(monkeypatch):
    monkeypatch.setenv("NAVIYAM_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
    assert Settings(_env_file=None).resolved_database_url.startswith("postgresql+psycopg://")
