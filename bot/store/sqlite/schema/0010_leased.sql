-- The deliveries a worker holds, found at start-up without reading the rest: freeing a
-- killed predecessor's leases read every waiting message (4 s with a million waiting for
-- a chat that was down, before /healthz answered). Only leased rows are in it.
CREATE INDEX IF NOT EXISTS deliveries_leased ON deliveries (lease_until) WHERE lease_until IS NOT NULL;
