-- Another name of an event's conversation, by which a later event that names no thread
-- finds it: a pull request's head commit, named by the CI results of a fork's
-- pull request (GitHub lists no pull request in those).
-- only if: SELECT count(*) = 0 FROM pragma_table_info('events') WHERE name = 'thread_alias'
ALTER TABLE events ADD COLUMN thread_alias TEXT;
CREATE INDEX IF NOT EXISTS events_thread_alias ON events (thread_alias) WHERE thread_alias IS NOT NULL;
