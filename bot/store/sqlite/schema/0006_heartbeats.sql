-- Dead man's switches: when each watched source was last heard from, and the alarm raised
-- while it is silent. In the store, so a restart or another instance carries on the watch.
CREATE TABLE IF NOT EXISTS heartbeats (
    source         TEXT PRIMARY KEY,
    watched_since  REAL NOT NULL,
    last_at        REAL,
    alarm_at       REAL
);
