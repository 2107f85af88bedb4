"""The benchmark's embedded SQLite store: one row per image x method x evidence x metric, the
run's configuration, the images scanned and the problems found, and which (image, method)
pairs are finished.

Why SQLite: a run survives Ctrl-C or a kill. Each work unit's scores and its ``done`` rows are
written in one transaction (WAL journal), so an interrupted run loses at most the units in
flight, and a resumed run skips every (image, method) already marked done. Only the parent
process writes (workers return rows), so there is a single writer.

Tables::

    run(id = 1, config JSON, fingerprint, versions JSON, created)
    images(name, role 'scored' | 'calibration', path, masks JSON {evidence: file},
           face_box JSON | NULL, height, width)
    scores(image, method, evidence, metric, value)   primary key (image, method, evidence, metric)
    done(image, method)                               primary key (image, method)
    problems(file, reason, detail)                    primary key (file, reason)
    meta(key, value JSON)                             e.g. the SPED assignment

``value`` is NULL for NaN. Faithfulness rows, which belong to an image and not to one evidence
type, use the evidence name ``IMAGE_EVIDENCE`` ("*").
"""

from __future__ import annotations

import json
import math
import sqlite3
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterable, Iterator, Sequence

from xfas.errors import XfasError

DB_NAME = "results.sqlite"
IMAGE_EVIDENCE = "*"

Row = tuple[str, str, str, str, float]  # (image, method, evidence, metric, value)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS run (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    config TEXT NOT NULL, fingerprint TEXT NOT NULL, versions TEXT NOT NULL,
    created TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS images (
    name TEXT NOT NULL, role TEXT NOT NULL, path TEXT NOT NULL, masks TEXT NOT NULL,
    face_box TEXT, height INTEGER NOT NULL, width INTEGER NOT NULL,
    PRIMARY KEY (name, role));
CREATE TABLE IF NOT EXISTS scores (
    image TEXT NOT NULL, method TEXT NOT NULL, evidence TEXT NOT NULL, metric TEXT NOT NULL,
    value REAL, PRIMARY KEY (image, method, evidence, metric));
CREATE TABLE IF NOT EXISTS done (
    image TEXT NOT NULL, method TEXT NOT NULL, PRIMARY KEY (image, method));
CREATE TABLE IF NOT EXISTS problems (
    file TEXT NOT NULL, reason TEXT NOT NULL, detail TEXT NOT NULL,
    PRIMARY KEY (file, reason));
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


@dataclass(frozen=True)
class ImageRecord:
    """One scanned image: where it is, its usable masks and (crop models) its face box."""

    name: str
    role: str  # "scored" or "calibration"
    path: str
    masks: dict[str, str]  # evidence -> mask file
    face_box: tuple[int, int, int, int] | None
    height: int
    width: int


@dataclass(frozen=True)
class Problem:
    """A file that could not be used as it is, and why."""

    file: str
    reason: str
    detail: str


class RunStore:
    """The SQLite database of one benchmark run (``RUN/results.sqlite``).

    Example:
        >>> with RunStore(run_dir / DB_NAME) as store:
        ...     rows = store.scores(method="gradcam")
    """

    def __init__(self, path: str | Path, create: bool = True) -> None:
        self.path = Path(path)
        if not create and not self.path.is_file():
            raise XfasError(f"{self.path}: no benchmark database here (run `xfas benchmark` "
                            "first)")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(str(self.path), timeout=30.0)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.executescript(_SCHEMA)
        except sqlite3.DatabaseError as error:
            raise XfasError(f"{self.path}: not a usable benchmark database ({error})") from None

    # --- lifecycle ---------------------------------------------------------------------
    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> "RunStore":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- the run -----------------------------------------------------------------------
    def run_info(self) -> dict[str, Any] | None:
        """{"config", "fingerprint", "versions", "created"} of the run, or None if new."""
        row = self._db.execute("SELECT config, fingerprint, versions, created FROM run").fetchone()
        if row is None:
            return None
        return {"config": json.loads(row[0]), "fingerprint": row[1],
                "versions": json.loads(row[2]), "created": row[3]}

    def init_run(self, config: dict[str, Any], fingerprint: str,
                 versions: dict[str, str]) -> None:
        """Record the configuration of a new run."""
        created = datetime.now(timezone.utc).isoformat(timespec="seconds")
        with self._db:
            self._db.execute("INSERT INTO run VALUES (1, ?, ?, ?, ?)",
                             (json.dumps(config, sort_keys=True), fingerprint,
                              json.dumps(versions, sort_keys=True), created))

    # --- images and problems -----------------------------------------------------------
    def has_images(self) -> bool:
        return self._db.execute("SELECT 1 FROM meta WHERE key = 'scanned'").fetchone() is not None

    def write_scan(self, images: Sequence[ImageRecord], problems: Sequence[Problem],
                   info: dict[str, Any]) -> None:
        """Store the scanned images, their problems and ``info`` (what was selected and how)
        in one transaction, so a scan is either complete or absent."""
        with self._db:
            self._db.executemany(
                "INSERT OR REPLACE INTO images VALUES (?, ?, ?, ?, ?, ?, ?)",
                [(r.name, r.role, r.path, json.dumps(r.masks, sort_keys=True),
                  None if r.face_box is None else json.dumps(list(r.face_box)),
                  r.height, r.width) for r in images])
            self._db.executemany("INSERT OR REPLACE INTO problems VALUES (?, ?, ?)",
                                 [(p.file, p.reason, p.detail) for p in problems])
            self._set_meta("scan", info)
            self._set_meta("scanned", True)

    def images(self, role: str | None = None) -> list[ImageRecord]:
        """Scanned images (of one role), by name."""
        query = "SELECT name, role, path, masks, face_box, height, width FROM images"
        rows = (self._db.execute(query + " WHERE role = ? ORDER BY name", (role,))
                if role is not None else self._db.execute(query + " ORDER BY role, name"))
        return [ImageRecord(name, kind, path, json.loads(masks),
                            None if box is None else tuple(json.loads(box)), height, width)
                for name, kind, path, masks, box, height, width in rows]

    def problems(self) -> list[Problem]:
        rows = self._db.execute("SELECT file, reason, detail FROM problems ORDER BY reason, file")
        return [Problem(*row) for row in rows]

    # --- scores ------------------------------------------------------------------------
    def write_unit(self, rows: Iterable[Row], done: Iterable[tuple[str, str]]) -> None:
        """A finished unit: its score rows and (image, method) done marks, atomically."""
        with self._db:
            self._db.executemany(
                "INSERT OR REPLACE INTO scores VALUES (?, ?, ?, ?, ?)",
                [(i, m, e, k, None if v is None or math.isnan(v) else float(v))
                 for i, m, e, k, v in rows])
            self._db.executemany("INSERT OR REPLACE INTO done VALUES (?, ?)", list(done))

    def done(self) -> set[tuple[str, str]]:
        """The finished (image, method) pairs."""
        return set(self._db.execute("SELECT image, method FROM done"))

    def scores(self, method: str | None = None, evidence: str | None = None,
               metric: str | None = None) -> list[Row]:
        """Score rows (NaN for NULL), filtered by any of method / evidence / metric, in
        (method, evidence, metric, image) order."""
        where, args = [], []
        for column, value in (("method", method), ("evidence", evidence), ("metric", metric)):
            if value is not None:
                where.append(f"{column} = ?")
                args.append(value)
        query = "SELECT image, method, evidence, metric, value FROM scores"
        if where:
            query += " WHERE " + " AND ".join(where)
        query += " ORDER BY method, evidence, metric, image"
        return [(i, m, e, k, math.nan if v is None else v)
                for i, m, e, k, v in self._db.execute(query, args)]

    def iter_scores(self) -> Iterator[Row]:
        """Every score row, unordered, without building a list."""
        for i, m, e, k, v in self._db.execute(
                "SELECT image, method, evidence, metric, value FROM scores"):
            yield i, m, e, k, math.nan if v is None else v

    # --- meta --------------------------------------------------------------------------
    def get_meta(self, key: str) -> Any:
        row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else json.loads(row[0])

    def set_meta(self, key: str, value: Any) -> None:
        with self._db:
            self._set_meta(key, value)

    def _set_meta(self, key: str, value: Any) -> None:
        self._db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)",
                         (key, json.dumps(value, sort_keys=True)))
