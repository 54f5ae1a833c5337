-- A store from before compression: its bodies get a codec, NULL for those already there
-- (they stay as received).
-- only if: SELECT count(*) = 0 FROM pragma_table_info('inbox_bodies') WHERE name = 'codec'
ALTER TABLE inbox_bodies ADD COLUMN codec TEXT;
