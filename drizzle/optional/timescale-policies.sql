-- OPTIONAL: compression and retention for resource_usage_events. NOT a migration: run it by hand
-- (psql -f) on a server whose TimescaleDB carries the Timescale License features, e.g. a
-- self-hosted TimescaleDB Community build or Timescale Cloud. Neon's timescaledb is the
-- Apache-2 edition: hypertables and time_bucket work there, these policies do not.
-- Tested against the TimescaleDB build of PGlite in test/unit/db/hypertable.test.ts.

-- Compress chunks older than 90 days (about 3 chunks of 30 days stay writable as plain rows).
-- Late corrections still land: INSERT ... ON CONFLICT into a compressed chunk is supported
-- (TimescaleDB ≥ 2.11) at the cost of decompressing the affected segment.
ALTER TABLE resource_usage_events SET (
  timescaledb.compress,
  timescaledb.compress_segmentby = 'source',
  timescaledb.compress_orderby = 'time_window_start DESC'
);
SELECT add_compression_policy('resource_usage_events', INTERVAL '90 days', if_not_exists => TRUE);

-- Drop whole chunks older than 7 years. Usage is what allocations are charged against: keep it as
-- long as your accounting rules require, and never shorter than your longest allocation period.
SELECT add_retention_policy('resource_usage_events', INTERVAL '7 years', if_not_exists => TRUE);
