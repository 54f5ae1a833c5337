-- A store from before the bodies had their own table: move them out of the request rows
-- (0001 made inbox_bodies), which the pipeline's updates then never rewrite.
-- only if: SELECT count(*) FROM pragma_table_info('inbox') WHERE name = 'body'
INSERT INTO inbox_bodies (id, body) SELECT id, body FROM inbox;
ALTER TABLE inbox DROP COLUMN body;
