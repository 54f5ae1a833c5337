-- IF NOT EXISTS throughout: releases before numbered migrations ran one idempotent schema
-- at every start, so a store they made (user_version 0) has some or all of these already.
CREATE TABLE IF NOT EXISTS inbox (
    id           INTEGER PRIMARY KEY,
    source       TEXT    NOT NULL,
    delivery_id  TEXT    NOT NULL,
    received_at  REAL    NOT NULL,
    headers      TEXT    NOT NULL,
    state        TEXT    NOT NULL DEFAULT 'new',  -- new | done | ignored | dead
    attempts     INTEGER NOT NULL DEFAULT 0,
    lease_until  REAL,
    error        TEXT,
    UNIQUE (source, delivery_id)
);
CREATE INDEX IF NOT EXISTS inbox_new ON inbox (id) WHERE state = 'new';
CREATE INDEX IF NOT EXISTS inbox_received ON inbox (received_at);
-- The request bodies, apart from the request rows the pipeline updates: SQLite rewrites a
-- whole row when an update changes its size, so each claim and each outcome rewrote the
-- body (a 7.8 KB push: two overflow pages) into the WAL and, at the checkpoint, the file.
CREATE TABLE IF NOT EXISTS inbox_bodies (
    id           INTEGER PRIMARY KEY,            -- inbox.id
    body         BLOB    NOT NULL,
    codec        TEXT                            -- NULL: as received; 'lz4' (bodies.py)
);

CREATE TABLE IF NOT EXISTS events (
    id           TEXT    PRIMARY KEY,            -- <inbox>.<n>
    inbox_id     INTEGER NOT NULL,
    source       TEXT    NOT NULL,
    type         TEXT    NOT NULL,
    severity     TEXT    NOT NULL,
    status       TEXT,
    title        TEXT    NOT NULL,
    thread_key   TEXT,
    occurred_at  REAL    NOT NULL,
    outcome      TEXT    NOT NULL,               -- routed | unrouted | ignored | muted
    detail       TEXT    NOT NULL,
    created_at   REAL    NOT NULL
);
CREATE INDEX IF NOT EXISTS events_inbox ON events (inbox_id);

CREATE TABLE IF NOT EXISTS deliveries (
    id              TEXT    PRIMARY KEY,         -- <event>/<target>
    event_id        TEXT    NOT NULL,
    inbox_id        INTEGER NOT NULL,
    target          TEXT    NOT NULL,
    platform        TEXT    NOT NULL,
    address         TEXT    NOT NULL,
    message         TEXT    NOT NULL,
    state           TEXT    NOT NULL,            -- pending | sent | dead
    lifecycle       TEXT    NOT NULL,
    thread_key      TEXT,
    status          TEXT,
    occurred_at     REAL    NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at REAL    NOT NULL,
    lease_until     REAL,
    last_error      TEXT,
    ref             TEXT,
    created_at      REAL    NOT NULL,
    updated_at      REAL    NOT NULL,
    source          TEXT    NOT NULL DEFAULT '',
    event_type      TEXT    NOT NULL DEFAULT '',
    group_key       TEXT,                        -- a grouping route's burst (bot.grouping)
    group_interval  REAL    NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS deliveries_due ON deliveries (next_attempt_at) WHERE state = 'pending';
CREATE INDEX IF NOT EXISTS deliveries_event ON deliveries (event_id);
CREATE INDEX IF NOT EXISTS deliveries_inbox ON deliveries (inbox_id);
CREATE INDEX IF NOT EXISTS deliveries_dead ON deliveries (updated_at) WHERE state = 'dead';
CREATE INDEX IF NOT EXISTS deliveries_group ON deliveries (group_key) WHERE state = 'pending';

-- One message standing for a burst of grouped deliveries (bot.grouping).
CREATE TABLE IF NOT EXISTS digests (
    id          TEXT    PRIMARY KEY,             -- <group key>@<opened at>
    group_key   TEXT    NOT NULL,
    ref         TEXT    NOT NULL,                -- JSON: where the message lives
    entries     TEXT    NOT NULL,                -- JSON: the latest state of each event shown
    opened_at   REAL    NOT NULL,
    updated_at  REAL    NOT NULL                 -- the last post or edit
);
CREATE INDEX IF NOT EXISTS digests_group ON digests (group_key, updated_at);
CREATE INDEX IF NOT EXISTS inbox_dead ON inbox (received_at) WHERE state = 'dead';

-- Every call to a chat platform, written with the delivery's new state (the inspector).
CREATE TABLE IF NOT EXISTS attempts (
    delivery_id  TEXT    NOT NULL,
    at           REAL    NOT NULL,
    outcome      TEXT    NOT NULL,               -- sent | retry | dead
    http_status  INTEGER,
    error        TEXT,
    duration     REAL    NOT NULL
);
CREATE INDEX IF NOT EXISTS attempts_delivery ON attempts (delivery_id, at);

-- Events sharing a thread_key at a target: where the first message lives, what it shows.
CREATE TABLE IF NOT EXISTS conversations (
    target       TEXT    NOT NULL,
    thread_key   TEXT    NOT NULL,
    ref          TEXT    NOT NULL,               -- JSON: the platform's message (and thread) ids
    status       TEXT,
    latest_at    REAL    NOT NULL,               -- occurred_at of the newest state shown
    ended        INTEGER NOT NULL,               -- 1 once resolved: the next event starts anew
    started_by   TEXT    NOT NULL,               -- the delivery that posted the first message
    updated_at   REAL    NOT NULL,
    PRIMARY KEY (target, thread_key)
);

CREATE TABLE IF NOT EXISTS rejections (
    source   TEXT    NOT NULL,
    reason   TEXT    NOT NULL,
    count    INTEGER NOT NULL,
    last_at  REAL    NOT NULL,
    PRIMARY KEY (source, reason)
);

-- Mutes and reroutes set from chat or the CLI; shared by every process using this store.
CREATE TABLE IF NOT EXISTS mutes (
    id            INTEGER PRIMARY KEY,
    selector      TEXT    NOT NULL,              -- JSON {key: [globs]}
    platform      TEXT    NOT NULL,              -- where it was issued: slack | discord | ''
    channel       TEXT    NOT NULL,
    channel_name  TEXT    NOT NULL,
    everywhere    INTEGER NOT NULL,
    threads       TEXT    NOT NULL,              -- JSON [thread_key]: until resolved
    reason        TEXT    NOT NULL,
    creator       TEXT    NOT NULL,
    created_at    REAL    NOT NULL,
    expires_at    REAL,
    ended_at      REAL,
    ended_by      TEXT    NOT NULL DEFAULT '',
    end_reason    TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS mutes_live ON mutes (id) WHERE ended_at IS NULL;

CREATE TABLE IF NOT EXISTS reroutes (
    id            INTEGER PRIMARY KEY,
    selector      TEXT    NOT NULL,
    target        TEXT    NOT NULL,              -- a configured target, or '' for a bare channel
    platform      TEXT    NOT NULL,
    address       TEXT    NOT NULL,
    label         TEXT    NOT NULL,
    creator       TEXT    NOT NULL,
    created_at    REAL    NOT NULL,
    expires_at    REAL,
    ended_at      REAL,
    ended_by      TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS reroutes_live ON reroutes (id) WHERE ended_at IS NULL;

-- Which mute kept which delivery from being posted (deliveries.state = 'muted'): its digest.
CREATE TABLE IF NOT EXISTS suppressions (
    mute_id      INTEGER NOT NULL,
    delivery_id  TEXT    NOT NULL,
    PRIMARY KEY (mute_id, delivery_id)
);
CREATE INDEX IF NOT EXISTS events_thread ON events (thread_key, created_at) WHERE thread_key IS NOT NULL;
