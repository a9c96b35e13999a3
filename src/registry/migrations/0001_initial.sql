-- Messages as they arrived: the raw bytes live in a content-addressed file (raw_path);
-- a row exists before anything else is done with the message.
CREATE TABLE messages (
    id           INTEGER PRIMARY KEY,
    sha256       TEXT NOT NULL,
    raw_path     TEXT NOT NULL,
    size         INTEGER NOT NULL,
    source       TEXT NOT NULL,            -- file | maildir | imap
    source_key   TEXT,                     -- unique per source (e.g. imap account/folder/uidvalidity/uid)
    arrived_at   TEXT,                     -- RFC 3339, UTC
    message_id   TEXT,
    sender       TEXT,
    subject      TEXT,
    province     TEXT,
    batch        INTEGER,
    skipped      TEXT,                     -- self | bounce | list | auto_reply
    state        TEXT NOT NULL DEFAULT 'received',  -- received | filed | quarantined
    result       TEXT,                     -- the JSON result of `lndx ingest --json`
    error        TEXT,
    created_at   TEXT NOT NULL,
    processed_at TEXT
) STRICT;
CREATE UNIQUE INDEX messages_source_key ON messages(source_key) WHERE source_key IS NOT NULL;
CREATE INDEX messages_sha256 ON messages(sha256);

-- Every file found in a message (attachments, archive members, forwarded files).
CREATE TABLE files (
    id                INTEGER PRIMARY KEY,
    message           INTEGER NOT NULL REFERENCES messages(id),
    seq               INTEGER NOT NULL,
    filename          TEXT NOT NULL,
    container         TEXT,
    path_in_container TEXT,
    sha256            TEXT NOT NULL,
    size              INTEGER NOT NULL,
    file_type         TEXT NOT NULL,
    role              TEXT NOT NULL,
    kind              TEXT,
    errors            TEXT NOT NULL DEFAULT '[]',
    warnings          TEXT NOT NULL DEFAULT '[]'
) STRICT;
CREATE INDEX files_message ON files(message);
CREATE INDEX files_sha256 ON files(sha256);

-- Entries: one row per filed version. A new version of the same entry (province, kind,
-- name) supersedes the old one; both are kept.
CREATE TABLE entries (
    id            INTEGER PRIMARY KEY,
    receipt       TEXT NOT NULL UNIQUE,
    entry_key     TEXT NOT NULL,
    version       INTEGER NOT NULL,
    supersedes    INTEGER REFERENCES entries(id),
    superseded_by INTEGER REFERENCES entries(id),
    message       INTEGER NOT NULL REFERENCES messages(id),
    file          INTEGER NOT NULL REFERENCES files(id),
    file_sha256   TEXT NOT NULL,
    province      TEXT,
    batch         INTEGER,
    late          INTEGER NOT NULL DEFAULT 0,
    kind          TEXT NOT NULL,
    name          TEXT NOT NULL,
    unit          TEXT,
    status        TEXT NOT NULL,           -- valid | invalid | held
    fields        TEXT NOT NULL,
    errors        TEXT NOT NULL,
    warnings      TEXT NOT NULL,
    themes        TEXT NOT NULL,
    arrived_at    TEXT,
    created_at    TEXT NOT NULL
) STRICT;
CREATE INDEX entries_key ON entries(entry_key);
CREATE INDEX entries_file_sha256 ON entries(file_sha256);

-- Receipt sequence numbers: never reused.
CREATE TABLE sequences (
    scope TEXT PRIMARY KEY,
    next  INTEGER NOT NULL
) STRICT;

-- Mail to send: replies, staff copies and reports, queued in the transaction that filed
-- the message, sent later with retries under a Message-ID fixed here.
CREATE TABLE outbox (
    id              INTEGER PRIMARY KEY,
    message         INTEGER REFERENCES messages(id),
    purpose         TEXT NOT NULL,         -- reply | copy | report
    message_id      TEXT NOT NULL UNIQUE,
    envelope_from   TEXT NOT NULL,
    recipients      TEXT NOT NULL,         -- JSON array
    body            BLOB NOT NULL,         -- the complete RFC 5322 message
    state           TEXT NOT NULL DEFAULT 'pending',  -- pending | sent | failed | unknown | capped
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT NOT NULL,
    last_error      TEXT,
    created_at      TEXT NOT NULL,
    sent_at         TEXT
) STRICT;
CREATE INDEX outbox_pending ON outbox(state, next_attempt_at);

-- Delivery log: one row per attempt and recipient.
CREATE TABLE deliveries (
    id        INTEGER PRIMARY KEY,
    outbox    INTEGER NOT NULL REFERENCES outbox(id),
    recipient TEXT NOT NULL,
    outcome   TEXT NOT NULL,               -- sent | deferred | failed | unknown
    detail    TEXT,
    at        TEXT NOT NULL
) STRICT;

-- Weekly report slots: each slot's report is queued once.
CREATE TABLE report_slots (
    slot       TEXT PRIMARY KEY,           -- RFC 3339 instant of the scheduled time
    outbox     INTEGER REFERENCES outbox(id),
    created_at TEXT NOT NULL
) STRICT;

-- IMAP folder state: the UIDVALIDITY seen and the highest UID processed.
CREATE TABLE imap_folders (
    account     TEXT NOT NULL,
    folder      TEXT NOT NULL,
    uidvalidity INTEGER NOT NULL,
    last_uid    INTEGER NOT NULL,
    PRIMARY KEY (account, folder)
) STRICT;
