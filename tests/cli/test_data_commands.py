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
    same = run(env, "data", "import", str(book))  # every id already exists, nothing differs: all unchanged
    assert same.returncode == 0, same.stderr
    assert "그대로" in same.stdout and "Traceback" not in same.stderr


def test_a_weekly_export_with_changes_is_imported_and_replace_asks_first(tmp_path):
    import openpyxl
    from sqlalchemy import create_engine, text

    var = tmp_path / "var"
    env = {**os.environ, "NAVIYAM_VAR_DIR": str(var), "NAVIYAM_DATABASE_URL": ""}
    assert run(env, "data", "generate", "--seed", "5", "--shops", "20", "--users", "20", "--days", "5").returncode == 0
    book = tmp_path / "week.xlsx"
    assert run(env, "data", "export", str(book)).returncode == 0
    wb = openpyxl.load_workbook(book)
    menus = wb["shop_menu"]
    header = [c.value for c in menus[1]]
    menus.cell(row=2, column=header.index("price") + 1, value=12345)  # a price changes
    menu_id = menus.cell(row=2, column=1).value
    shops = wb["shop"]
    last_shop = shops.max_row
    shop_id = shops.cell(row=last_shop, column=1).value
    shops.delete_rows(last_shop)  # a shop is gone from the operator's database, with its rows elsewhere
    for name in ("shop_menu", "product_order", "userfavorite", "review"):
        ws = wb[name]
        col = [c.value for c in ws[1]].index("shop_id") + 1
        for r in range(ws.max_row, 1, -1):
            if ws.cell(row=r, column=col).value == shop_id:
                ws.delete_rows(r)
    wb.save(book)

    checked = run(env, "data", "validate", str(book), "--replace")
    assert checked.returncode == 0 and "아무것도 쓰지 않음" in checked.stdout, checked.stderr
    refused = subprocess.run([BIN, "data", "import", str(book), "--replace"], env=env, input="n\n",
                             capture_output=True, text=True, timeout=300)
    assert refused.returncode == 1 and "취소" in refused.stderr
    db = create_engine(f"sqlite:///{var / 'naviyam.db'}")
    with db.connect() as conn:
        assert conn.execute(text("SELECT price FROM shop_menu WHERE id = :i"), {"i": menu_id}).scalar() != 12345
        assert conn.execute(text("SELECT count(*) FROM shop WHERE id = :i"), {"i": shop_id}).scalar() == 1
    done = run(env, "data", "import", str(book), "--replace", "--yes")
    assert done.returncode == 0, done.stderr
    assert "변경" in done.stdout and "삭제" in done.stdout
    with db.connect() as conn:
        assert conn.execute(text("SELECT price FROM shop_menu WHERE id = :i"), {"i": menu_id}).scalar() == 12345
        assert conn.execute(text("SELECT count(*) FROM shop WHERE id = :i"), {"i": shop_id}).scalar() == 0
        assert conn.execute(text("SELECT count(*) FROM shop_menu WHERE shop_id = :i"), {"i": shop_id}).scalar() == 0
    db.dispose()
