-- The console's accounts and sign-in, and the search index over entries.

-- People who may sign in to the console. Nothing is deleted: an account is disabled.
CREATE TABLE users (
    id            INTEGER PRIMARY KEY,
    email         TEXT NOT NULL UNIQUE,    -- stored lower-case
    role          TEXT NOT NULL,           -- admin | staff | viewer | province | expert
    province      TEXT,                    -- the province a province account sees
    unit          TEXT,
    name          TEXT,
    password_hash TEXT,                    -- Argon2id PHC string; NULL: links only
    disabled      INTEGER NOT NULL DEFAULT 0,
    created_at    TEXT NOT NULL,
    created_by    TEXT
) STRICT;

-- Single-use sign-in links: only the SHA-256 of the token is kept.
CREATE TABLE signin_links (
    token_hash TEXT PRIMARY KEY,
    user       INTEGER NOT NULL REFERENCES users(id),
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    used_at    TEXT
) STRICT;

-- Sessions: only the SHA-256 of the cookie's id is kept.
CREATE TABLE sessions (
    id_hash    TEXT PRIMARY KEY,
    user       INTEGER REFERENCES users(id), -- NULL: signed out (a CSRF token only)
    csrf       TEXT NOT NULL,
    created_at TEXT NOT NULL,
    last_seen  TEXT NOT NULL,
    ended_at   TEXT
) STRICT;
CREATE INDEX sessions_user ON sessions(user);

-- Sign-in attempts, for slowing down guessing per account and per address.
CREATE TABLE signin_attempts (
    id      INTEGER PRIMARY KEY,
    at      TEXT NOT NULL,
    account TEXT,
    address TEXT NOT NULL,
    ok      INTEGER NOT NULL
) STRICT;
CREATE INDEX signin_attempts_account ON signin_attempts(account, at);
CREATE INDEX signin_attempts_address ON signin_attempts(address, at);

-- Full-text search over entries that finds Chinese substrings: the trigram tokenizer
-- indexes every run of three characters (shorter queries fall back to LIKE). Kept in step
-- with `entries` by a trigger: entry rows are inserted once and their text never changes.
CREATE VIRTUAL TABLE entries_fts USING fts5(
    receipt, name, unit, fields,
    content = '', tokenize = 'trigram'
);
INSERT INTO entries_fts(rowid, receipt, name, unit, fields)
    SELECT id, receipt, name, coalesce(unit, ''), fields FROM entries;
CREATE TRIGGER entries_fts_insert AFTER INSERT ON entries BEGIN
    INSERT INTO entries_fts(rowid, receipt, name, unit, fields)
        VALUES (new.id, new.receipt, new.name, coalesce(new.unit, ''), new.fields);
END;

-- Listing and sorting entries and messages in the console.
CREATE INDEX entries_current ON entries(superseded_by, id);
CREATE INDEX entries_message ON entries(message);
CREATE INDEX outbox_message ON outbox(message);
