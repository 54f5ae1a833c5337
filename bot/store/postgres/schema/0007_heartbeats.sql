-- Dead man's switches: when each watched source was last heard from, and the alarm raised
-- while it is silent. In the store, so a restart or another instance carries on the watch.
CREATE TABLE heartbeats (
    source         TEXT             PRIMARY KEY,
    watched_since  DOUBLE PRECISION NOT NULL,
    last_at        DOUBLE PRECISION,
    alarm_at       DOUBLE PRECISION
);
