-- Make resource_usage_events a TimescaleDB hypertable on time_window_start, 30-day chunks,
-- when the timescaledb extension is available on this server (Neon offers it; plain
-- PostgreSQL and PGlite usually do not). Otherwise the table stays a plain table: every other
-- statement and every query is the same on both. Safe to run again (if_not_exists).
DO $$
BEGIN
  IF EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'timescaledb') THEN
    CREATE EXTENSION IF NOT EXISTS timescaledb;
    PERFORM create_hypertable(
      'resource_usage_events',
      'time_window_start',
      chunk_time_interval => INTERVAL '30 days',
      if_not_exists => TRUE,
      migrate_data => TRUE
    );
  ELSE
    RAISE NOTICE 'timescaledb is not available: resource_usage_events stays a plain table';
  END IF;
END
$$;
