-- What routing decided for each event when it was planned (routes in words, targets,
-- templates), so history is not read against today's config. NULL for events recorded
-- before: they are described with today's config, and say so.
ALTER TABLE events ADD COLUMN IF NOT EXISTS decision TEXT;
