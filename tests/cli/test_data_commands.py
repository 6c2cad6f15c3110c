"""The operator's data commands as they run from a shell."""

import os
import subprocess
import sys
from pathlib import Path

BIN = Path(sys.executable).parent / "naviyam"


def run(env, *args):
    return subprocess.run([BIN, *args], env=env, capture_output=True, text=True, timeout=300)


def test_generate_export_and_a_refused_import(tmp_path):
    env = {**os.environ, "NAVIYAM_VAR_DIR": str(tmp_path / "var"), "NAVIYAM_DATABASE_URL": ""}
    gen = run(env, "data", "generate", "--seed", "3", "--shops", "30", "--users", "40", "--days", "5")
    assert gen.returncode == 0, gen.stderr
    assert "샘플 세계" in gen.stdout
    again = run(env, "data", "generate", "--seed", "3", "--shops", "30", "--users", "40", "--days", "5")
    assert again.returncode == 1  # never on top of an existing world
    book = tmp_path / "world.xlsx"
    exp = run(env, "data", "export", str(book))
    assert exp.returncode == 0 and book.stat().st_size > 0 and "내보낸 데이터" in exp.stdout
    bad = tmp_path / "bad.xlsx"
    bad.write_text("not a workbook")
    imp = run(env, "data", "import", str(bad))
    assert imp.returncode == 1
    assert "가져오지 않았어요" in imp.stderr and "Traceback" not in imp.stderr
    dup = run(env, "data", "import", str(book))  # every id already exists: refused, nothing written
    assert dup.returncode == 1 and "shop" in dup.stderr
