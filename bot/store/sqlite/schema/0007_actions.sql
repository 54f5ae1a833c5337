-- Every click on a button that acts on a source (Acknowledge, Silence 1h): who, what,
-- when and the provider's answer. ``dedup_key`` is set while an action runs or after it
-- succeeded, and unique: a double click finds the first one's row and does nothing.
CREATE TABLE IF NOT EXISTS actions (
    id            INTEGER PRIMARY KEY,
    action        TEXT    NOT NULL,              -- acknowledge | silence_1h | mute_1h | ...
    source        TEXT    NOT NULL,
    delivery_id   TEXT    NOT NULL,              -- the message clicked
    target        TEXT    NOT NULL,
    thread_key    TEXT    NOT NULL,
    platform      TEXT    NOT NULL,              -- slack | discord
    user_id       TEXT    NOT NULL,
    user_name     TEXT    NOT NULL,
    identity      TEXT    NOT NULL,              -- as the provider was told ([people])
    outcome       TEXT    NOT NULL,              -- running | ok | failed | refused | stale | duplicate
    answer        TEXT    NOT NULL,              -- the provider's answer, or why not
    detail        TEXT    NOT NULL,              -- JSON: silence id, mute id, expiry
    dedup_key     TEXT,
    created_at    REAL    NOT NULL,
    finished_at   REAL
);
CREATE UNIQUE INDEX IF NOT EXISTS actions_dedup ON actions (dedup_key);
CREATE INDEX IF NOT EXISTS actions_thread ON actions (target, thread_key);
