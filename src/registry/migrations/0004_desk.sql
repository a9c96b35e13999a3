-- The staff desk: what people decided about what intake could not finish alone.
-- Nothing here is ever deleted; the audit log cannot even be changed.

-- Every staff action, with the state of its object before and after (JSON). Written in
-- the same transaction as the action itself.
CREATE TABLE audit_log (
    id      INTEGER PRIMARY KEY,
    at      TEXT NOT NULL,                 -- RFC 3339, UTC
    actor   TEXT NOT NULL,                 -- an account's e-mail, or cli:<login name>
    action  TEXT NOT NULL,                 -- assign_province | accept_late | … (snake_case)
    object  TEXT NOT NULL,                 -- message:12 | entry:<receipt> | outbox:40
    before  TEXT NOT NULL,                 -- JSON
    after   TEXT NOT NULL,                 -- JSON
    note    TEXT
) STRICT;
CREATE INDEX audit_log_object ON audit_log(object);
CREATE INDEX audit_log_actor ON audit_log(actor);
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only: rows cannot be changed');
END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only: rows cannot be deleted');
END;

-- Items of the 待人工处理 queue that a person resolved: the item as it was shown (JSON),
-- who, when and how. One resolution per item key.
CREATE TABLE resolutions (
    key    TEXT PRIMARY KEY,               -- e.g. message:12:unknown_province, outbox:40:unknown
    kind   TEXT NOT NULL,                  -- the attention kind (held_province, late_entry …)
    item   TEXT NOT NULL,                  -- JSON of the item when it was resolved
    by     TEXT NOT NULL,
    at     TEXT NOT NULL,
    how    TEXT NOT NULL,                  -- the action (snake_case)
    audit  INTEGER NOT NULL REFERENCES audit_log(id)
) STRICT;
CREATE TRIGGER resolutions_no_delete BEFORE DELETE ON resolutions
BEGIN
    SELECT RAISE(ABORT, 'resolutions are kept');
END;

-- Notes on entries (by receipt) and messages (by id).
CREATE TABLE notes (
    id      INTEGER PRIMARY KEY,
    target  TEXT NOT NULL,                 -- entry:<receipt> | message:<id>
    text    TEXT NOT NULL,
    by      TEXT NOT NULL,
    at      TEXT NOT NULL,
    audit   INTEGER NOT NULL REFERENCES audit_log(id)
) STRICT;
CREATE INDEX notes_target ON notes(target);

-- Staff decisions on late entries: accepted into a batch, or rejected. An accepted entry
-- is moved into the batch (entries.batch, entries.late = 0); the fact that it came late
-- stays here and in the audit log.
CREATE TABLE late_decisions (
    entry    INTEGER PRIMARY KEY REFERENCES entries(id),
    decision TEXT NOT NULL,                -- accepted | rejected
    batch    INTEGER,                      -- the batch chosen when accepted
    by       TEXT NOT NULL,
    at       TEXT NOT NULL,
    audit    INTEGER NOT NULL REFERENCES audit_log(id)
) STRICT;

-- Withdrawn entries (撤回): kept, counted nowhere from this moment on.
ALTER TABLE entries ADD COLUMN withdrawn_at TEXT;
-- The desk reads a message's entries (held receipts, before and after an action): without
-- an index each read scanned every entry (2 ms apiece at 10,000 entries).
CREATE INDEX entries_message ON entries(message);

-- Held messages staff released or rejected, and link-only / no-attachment mails handled.
CREATE TABLE message_decisions (
    id       INTEGER PRIMARY KEY,
    message  INTEGER NOT NULL REFERENCES messages(id),
    decision TEXT NOT NULL,                -- released | rejected | handled | province_assigned | reprocessed
    detail   TEXT,
    by       TEXT NOT NULL,
    at       TEXT NOT NULL,
    audit    INTEGER NOT NULL REFERENCES audit_log(id)
) STRICT;
CREATE INDEX message_decisions_message ON message_decisions(message);

-- A resent mail points at the one it repeats.
ALTER TABLE outbox ADD COLUMN resends INTEGER REFERENCES outbox(id);
-- Mail the loop guard held and staff released: the per-recipient cap no longer applies
-- to it (otherwise it would be held again at its next attempt).
ALTER TABLE outbox ADD COLUMN released_at TEXT;
