-- Pacing state is worth nothing after a crash (a lane just starts with a fresh burst), so
-- it skips the write-ahead log: a turn taken per post then costs no disk flush.
ALTER TABLE lanes SET UNLOGGED;
