"""Making a catalog (a review, session 60): an `index` that failed while making one (a full disk) left a file
holding only the meta table, which every later run refused as "not a muzip catalog"; a mistyped path left an
empty catalog behind."""

import os
import sqlite3

import pytest

import muzip.library.catalog as catalog_module
from muzip.library.catalog import Catalog, CatalogError

from test_library_inputs import invoke, write_catalog


def _tables(db):
    con = sqlite3.connect(db)
    try:
        return {name for (name,) in con.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    finally:
        con.close()


def test_a_catalog_made_in_part_is_made_in_no_part(tmp_path, monkeypatch):
    """The schema is one transaction: a failure in its last statement leaves no table (here a statement that
    cannot run stands for SQLite's "database or disk is full")."""
    db = tmp_path / "lib.db"
    monkeypatch.setattr(catalog_module, "_SCHEMA", catalog_module._SCHEMA + "CREATE TABLE meta (x);")
    with pytest.raises(CatalogError, match="catalog damaged"):
        Catalog(str(db))
    assert _tables(db) == set()
    monkeypatch.undo()
    write_catalog(db)  # the next run makes it whole
    assert {"meta", "tracks", "descriptors", "changes"} <= _tables(db)


def test_a_catalog_left_at_its_meta_table_by_an_earlier_muzip_is_made_whole(tmp_path):
    db = tmp_path / "lib.db"
    con = sqlite3.connect(db)
    con.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
    con.close()
    paths = write_catalog(db)
    with Catalog(str(db), create=False) as cat:
        assert cat.count() == len(paths)


def test_a_meta_table_that_holds_something_is_not_taken_for_a_half_made_catalog(tmp_path):
    """Another tool's file with a table named meta stays refused, untouched."""
    db = tmp_path / "other.db"
    con = sqlite3.connect(db)
    with con:
        con.execute("CREATE TABLE meta (key TEXT, value TEXT)")
        con.execute("INSERT INTO meta VALUES ('app', 'notes')")
    con.close()
    before = open(db, "rb").read()
    with pytest.raises(CatalogError, match="not a muzip catalog"):
        Catalog(str(db))
    assert open(db, "rb").read() == before


def test_another_tools_empty_meta_table_is_not_taken_over(tmp_path):
    """An empty table named meta of other columns: another tool's file, refused untouched (a review, session 60)."""
    db = tmp_path / "other.db"
    con = sqlite3.connect(db)
    con.execute("CREATE TABLE meta (id INTEGER PRIMARY KEY, created TEXT, note TEXT)")
    con.close()
    before = open(db, "rb").read()
    with pytest.raises(CatalogError, match="not a muzip catalog"):
        Catalog(str(db))
    assert open(db, "rb").read() == before and _tables(db) == {"meta"}


def test_the_disk_full_is_said_as_such():
    assert catalog_module._reason(sqlite3.OperationalError("database or disk is full")) == \
        "cannot write the catalog (database or disk is full)"


def test_index_of_a_mistyped_path_leaves_no_catalog(tmp_path):
    """Nothing to index and no catalog there: none is made (a first version made one and removed it when it stayed
    empty, which removed another `index` run's catalog made meanwhile: a review, session 60)."""
    db = tmp_path / "new.db"
    r = invoke("index", tmp_path / "nonexistent", "--db", db)
    assert r.exit_code == 1 and "no such file or folder" in r.stderr
    assert "no catalog made" in r.stderr and os.listdir(tmp_path) == []
    r = invoke("index", tmp_path / "nonexistent", "--db", db, "--json")
    assert r.exit_code == 1 and '"tracks": 0' in r.stdout and os.listdir(tmp_path) == []
    write_catalog(tmp_path / "kept.db")  # a catalog that was there stays, tracks or none
    r = invoke("index", tmp_path / "nonexistent", "--db", tmp_path / "kept.db")
    assert r.exit_code == 1 and (tmp_path / "kept.db").exists() and "8 tracks" in r.stderr
