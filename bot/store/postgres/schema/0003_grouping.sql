-- Bursts on a grouping route become one digest message (bot.grouping).
ALTER TABLE deliveries ADD COLUMN group_key TEXT;
ALTER TABLE deliveries ADD COLUMN group_interval DOUBLE PRECISION NOT NULL DEFAULT 0;
CREATE INDEX deliveries_group ON deliveries (group_key) WHERE state = 'pending';

CREATE TABLE digests (
    id          TEXT             PRIMARY KEY,      -- <group key>@<opened at>
    group_key   TEXT             NOT NULL,
    ref         TEXT             NOT NULL,         -- JSON: where the message lives
    entries     TEXT             NOT NULL,         -- JSON: the latest state of each event shown
    opened_at   DOUBLE PRECISION NOT NULL,
    updated_at  DOUBLE PRECISION NOT NULL          -- the last post or edit
);
CREATE INDEX digests_group ON digests (group_key, updated_at);
