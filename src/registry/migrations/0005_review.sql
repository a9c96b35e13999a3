-- 专家评议: experts, rounds, assignments, review versions, decisions and the review mail
-- log. Nothing is deleted: an assignment that ends (adjusted, recused) gets ended_at; every
-- save of a review is a new row; every decision is a new row (the latest counts).

-- Experts, keyed by e-mail address (lower case). When accounts exist, importing an expert
-- also creates an account with role expert; this table keeps what review needs.
CREATE TABLE review_experts (
    id         INTEGER PRIMARY KEY,
    email      TEXT NOT NULL UNIQUE,
    name       TEXT NOT NULL,
    province   TEXT,                      -- province code, as in rules/provinces.toml
    unit       TEXT,
    unit_key   TEXT,                      -- the unit's normalised name (conflicts)
    kinds      TEXT NOT NULL DEFAULT '[]', -- JSON array of kind keys
    themes     TEXT NOT NULL DEFAULT '[]', -- JSON array of theme names
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
) STRICT;

-- Conflicts an expert declared with an entry (by its entry key, so new versions count).
CREATE TABLE review_conflicts (
    id         INTEGER PRIMARY KEY,
    expert     INTEGER NOT NULL REFERENCES review_experts(id),
    entry_key  TEXT NOT NULL,
    receipt    TEXT NOT NULL,             -- as declared
    note       TEXT,
    created_at TEXT NOT NULL,
    UNIQUE (expert, entry_key)
) STRICT;

-- Rounds: one batch, one or several kinds.
CREATE TABLE review_rounds (
    id                     INTEGER PRIMARY KEY,
    batch                  INTEGER NOT NULL,
    kinds                  TEXT NOT NULL,        -- JSON array of kind keys
    per_entry              INTEGER NOT NULL,
    cap                    INTEGER,              -- NULL: an even share plus rules' cap_extra
    due                    TEXT NOT NULL,        -- YYYY-MM-DD, in the campaign's time zone
    state                  TEXT NOT NULL DEFAULT 'draft',  -- draft | published | closed
    created_at             TEXT NOT NULL,
    published_at           TEXT,
    closed_at              TEXT,
    completed_mail_at      TEXT,
    decisions_published_at TEXT
) STRICT;

-- The entries a round holds (current valid versions of its batch and kinds when the round
-- was created or its draft recomputed).
CREATE TABLE review_round_entries (
    round   INTEGER NOT NULL REFERENCES review_rounds(id),
    entry   INTEGER NOT NULL REFERENCES entries(id),
    receipt TEXT NOT NULL,
    PRIMARY KEY (round, receipt)
) STRICT;

-- Who reviews what. A row ends (ended_at, why) when staff change it or the expert recuses.
CREATE TABLE review_assignments (
    id         INTEGER PRIMARY KEY,
    round      INTEGER NOT NULL REFERENCES review_rounds(id),
    receipt    TEXT NOT NULL,
    expert     INTEGER NOT NULL REFERENCES review_experts(id),
    origin     TEXT NOT NULL,             -- solver | staff | replacement
    created_at TEXT NOT NULL,
    ended_at   TEXT,
    ended_why  TEXT                       -- redrafted | adjusted | recused
) STRICT;
CREATE INDEX review_assignments_round ON review_assignments(round) WHERE ended_at IS NULL;

-- Every saved version of a review.
CREATE TABLE review_versions (
    id             INTEGER PRIMARY KEY,
    round          INTEGER NOT NULL REFERENCES review_rounds(id),
    receipt        TEXT NOT NULL,
    expert         INTEGER NOT NULL REFERENCES review_experts(id),
    scores         TEXT NOT NULL,         -- JSON object: criterion key → points
    total          REAL NOT NULL,
    comment        TEXT NOT NULL DEFAULT '',
    recommendation TEXT,
    submitted      INTEGER NOT NULL DEFAULT 0,
    via            TEXT NOT NULL,         -- web | sheet | cli
    message        INTEGER REFERENCES messages(id),
    created_at     TEXT NOT NULL
) STRICT;
CREATE INDEX review_versions_current ON review_versions(round, receipt, expert, id);

-- Decisions (择优推介): the latest row per entry counts.
CREATE TABLE review_decisions (
    id         INTEGER PRIMARY KEY,
    round      INTEGER NOT NULL REFERENCES review_rounds(id),
    receipt    TEXT NOT NULL,
    decision   TEXT NOT NULL,             -- recommend | decline
    note       TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL
) STRICT;

-- Review mail: at most one per address and day (the campaign's day).
CREATE TABLE review_mail (
    address    TEXT NOT NULL,
    day        TEXT NOT NULL,             -- YYYY-MM-DD
    round      INTEGER REFERENCES review_rounds(id),
    purpose    TEXT NOT NULL,             -- invitation | reminder | complete | outcome | receipt
    outbox     INTEGER REFERENCES outbox(id),
    created_at TEXT NOT NULL,
    PRIMARY KEY (address, day)
) STRICT;
