-- The requests a planner holds, found at start-up without reading the rest: freeing a
-- killed predecessor's claims rewrote every waiting request (a million after a flood)
-- before /healthz answered. Only claimed rows are in it.
CREATE INDEX IF NOT EXISTS inbox_leased ON inbox (lease_until) WHERE lease_until IS NOT NULL;
