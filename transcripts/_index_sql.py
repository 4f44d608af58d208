"""The tables of a log's index (:mod:`transcripts._index`) and the SQL that keeps them: a row
a record, the tally of bytes the rows cover, and which rows lose to another of their id.
"""

from __future__ import annotations

__all__ = [
    "ALL_LOST",
    "ALL_TALLIED",
    "COLUMNS",
    "ENTRIES",
    "INSERT",
    "NO_EXTRA",
    "SCHEMA",
    "STAMP",
    "TABLES",
    "UPKEEP",
    "WINNER",
    "WITHOUT_UPKEEP",
]

COLUMNS = "offset, length, id, rank, status, extra"
NO_EXTRA = "offset, length, id, rank, status"
"""An entry's columns but its extra fields, for readers that only need where records are."""
INSERT = f"INSERT OR IGNORE INTO entries ({COLUMNS}, crc) VALUES (?,?,?,?,?,?,?)"

ENTRIES = """CREATE TABLE IF NOT EXISTS entries (
    offset INTEGER PRIMARY KEY, length INTEGER NOT NULL, id TEXT NOT NULL,
    rank INTEGER NOT NULL, status TEXT, extra TEXT, lost INTEGER NOT NULL DEFAULT 0,
    crc INTEGER
)"""
TABLES = f"""
CREATE TABLE IF NOT EXISTS meta (
    one INTEGER PRIMARY KEY CHECK (one = 1),
    version INTEGER NOT NULL, layout TEXT NOT NULL, inode INTEGER NOT NULL,
    covered INTEGER NOT NULL, reach INTEGER NOT NULL
);
{ENTRIES};
CREATE TABLE IF NOT EXISTS stamp (
    one INTEGER PRIMARY KEY CHECK (one = 1), mtime INTEGER NOT NULL
);
"""

STAMP = "INSERT OR REPLACE INTO stamp (one, mtime) VALUES (1, ?)"
"""Records the log's modification time the rows were last brought up to (``stamp``): a log
changed since by anything but an append of this code (an editor saving it in place, at the
same size) has another time, and its rows are checked against it."""

UPKEEP = (
    "CREATE INDEX IF NOT EXISTS entries_by_id ON entries (id, rank, offset)",
    """CREATE TRIGGER IF NOT EXISTS entries_tally AFTER INSERT ON entries BEGIN
    UPDATE meta SET covered = covered + NEW.length,
                    reach = max(reach, NEW.offset + NEW.length);
END""",
    """CREATE TRIGGER IF NOT EXISTS entries_win AFTER INSERT ON entries BEGIN
    UPDATE entries SET lost = 1 WHERE id = NEW.id AND lost = 0 AND offset != NEW.offset
        AND (rank < NEW.rank OR (rank = NEW.rank AND offset < NEW.offset));
    UPDATE entries SET lost = 1 WHERE offset = NEW.offset AND EXISTS (
        SELECT 1 FROM entries AS f WHERE f.id = NEW.id AND f.offset != NEW.offset
        AND (f.rank > NEW.rank OR (f.rank = NEW.rank AND f.offset > NEW.offset)));
END""",
)
"""What each insert keeps up to date, in its own transaction: the B-tree by id, the tally of
bytes covered (``entries_tally``) and which rows lose to another of their id
(``entries_win``)."""

SCHEMA = TABLES + "".join(f"{statement};\n" for statement in UPKEEP)

WITHOUT_UPKEEP = (
    "DROP TRIGGER IF EXISTS entries_tally",
    "DROP TRIGGER IF EXISTS entries_win",
    "DROP INDEX IF EXISTS entries_by_id",
)
ALL_LOST = """
UPDATE entries SET lost = 1 WHERE EXISTS (
    SELECT 1 FROM entries AS f WHERE f.id = entries.id
    AND (f.rank > entries.rank OR (f.rank = entries.rank AND f.offset > entries.offset)))
"""
"""``entries_win``'s rule for every row at once: a row loses when another of its id ranks
higher, or ranks the same and was written later."""
ALL_TALLIED = """
UPDATE meta SET covered = (SELECT coalesce(sum(length), 0) FROM entries),
                reach = (SELECT coalesce(max(offset + length), 0) FROM entries)
"""
"""``entries_tally``'s sums for every row at once."""

# A row wins for its id when no other row of that id ranks higher, or ranks the same and
# was written later (the rule of JsonlLog.latest): the trigger ``entries_win`` marks the
# others ``lost`` as each row goes in, in the insert's own transaction.
WINNER = "e.lost = 0"
