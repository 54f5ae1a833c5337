-- A request is also known by its body's digest: a captured, signed request replayed
-- under a new delivery id (GitHub's X-GitHub-Delivery is not signed) is a duplicate.
-- Rows from before have none (NULLs never collide); retention bounds the window.
-- only if: SELECT count(*) = 0 FROM pragma_table_info('inbox') WHERE name = 'body_digest'
ALTER TABLE inbox ADD COLUMN body_digest TEXT;
CREATE UNIQUE INDEX IF NOT EXISTS inbox_body_digest ON inbox (source, body_digest);
