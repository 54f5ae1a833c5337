-- Events sharing a thread_key at a target: where the first message lives, what it shows.
CREATE TABLE conversations (
    target       TEXT             NOT NULL,
    thread_key   TEXT             NOT NULL,
    ref          TEXT             NOT NULL,        -- JSON: the platform's message (and thread) ids
    status       TEXT,
    latest_at    DOUBLE PRECISION NOT NULL,        -- occurred_at of the newest state shown
    ended        INTEGER          NOT NULL,        -- 1 once resolved: the next event starts anew
    started_by   TEXT             NOT NULL,        -- the delivery that posted the first message
    updated_at   DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (target, thread_key)
);
