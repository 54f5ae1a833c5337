-- The age of the oldest message waiting to be posted (bot_oldest_undelivered_age_seconds,
-- read at every /metrics scrape) from an index of its own: through deliveries_due it read
-- every waiting row, seconds at each scrape with a million waiting while chat was down.
CREATE INDEX IF NOT EXISTS deliveries_pending_age ON deliveries (created_at) WHERE state = 'pending';
