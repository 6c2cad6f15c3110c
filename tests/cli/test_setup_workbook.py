"""`NAVIYAM_WORKBOOK=… make run`: the operator's workbook, not the sample world, fills an empty database."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import text

BIN = Path(sys.executable).parent


@pytest.fixture(scope="module")
def operator_workbook(tmp_path_factory):
    """A small operator database exported to .xlsx, with names the sample world never uses."""
    from naviyam.data.excel import export_workbook
    from naviyam.data.generate import generate_world
    from naviyam.db.session import make_engine, migrate

    folder = tmp_path_factory.mktemp("operator")
    engine = make_engine(f"sqlite:///{folder / 'source.db'}")
    migrate(engine)
    generate_world(engine, seed=17, shops=40, users=80, days=30)
    with engine.begin() as conn:
        conn.execute(text("UPDATE shop SET name = '우리동네 착한분식 ' || id"))
    book = folder / "운영DB.xlsx"
    export_workbook(engine, book)
    engine.dispose()
    return book


def _env(var: Path, workbook: Path) -> dict:
    return {**os.environ, "NAVIYAM_VAR_DIR": str(var), "NAVIYAM_DATABASE_URL": "", "NAVIYAM_WORKBOOK": str(workbook),
            # small models: this checks what `make run` fills the database with, not model quality
            "NAVIYAM_NLU_TRAIN_EXAMPLES": "600", "NAVIYAM_NLU_EPOCHS": "1", "NAVIYAM_RANKER_EPOCHS": "1"}


def test_setup_imports_the_operators_workbook_and_serves_its_shops(operator_workbook, tmp_path):
    from fastapi.testclient import TestClient

    from naviyam.api.app import create_app
    from naviyam.config import Settings

    var = tmp_path / "var"
    setup = subprocess.run([BIN / "naviyam", "setup"], env=_env(var, operator_workbook), capture_output=True,
                           text=True, timeout=900)
    assert setup.returncode == 0, setup.stdout + setup.stderr
    assert "운영 데이터를 가져왔어요" in setup.stdout and "샘플 세계를 만들었어요" not in setup.stdout
    settings = Settings(var_dir=var, database_url=None, environment="test", admin_api_key="k", _env_file=None)
    with TestClient(create_app(settings)) as client:
        health = client.get("/health").json()
        assert health["shops"] == 40 and set(health["models"]) == {"nlu", "index", "ranker"}
        assert client.get("/shops/7").json()["name"] == "우리동네 착한분식 7"
        chat = client.post("/chat", json={"message": "분식 먹고 싶어"}).json()
        assert chat["recommendations"] and all(r["name"].startswith("우리동네 착한분식") for r in chat["recommendations"])
    again = subprocess.run([BIN / "naviyam", "setup"], env=_env(var, operator_workbook), capture_output=True,
                           text=True, timeout=300)
    assert again.returncode == 0 and "가져오지 않았어요" in again.stdout  # never on top of existing shops


def test_a_bad_workbook_stops_setup_and_writes_nothing(operator_workbook, tmp_path):
    import openpyxl

    bad = tmp_path / "bad.xlsx"
    wb = openpyxl.load_workbook(operator_workbook)
    wb["shop"].cell(row=3, column=[c.value for c in wb["shop"][1]].index("lat") + 1, value="서울 어딘가")
    wb.save(bad)
    var = tmp_path / "var"
    setup = subprocess.run([BIN / "naviyam", "setup", "--workbook", str(bad)], env=_env(var, bad),
                           capture_output=True, text=True, timeout=300)
    assert setup.returncode == 1
    assert "shop 시트 3행 lat 열" in setup.stdout and "Traceback" not in setup.stdout + setup.stderr
    from sqlalchemy import create_engine

    db = create_engine(f"sqlite:///{var / 'naviyam.db'}")
    with db.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM shop")).scalar() == 0
    db.dispose()
