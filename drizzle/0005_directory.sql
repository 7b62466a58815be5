CREATE TABLE "allocation_charges" (
	"allocation_id" uuid NOT NULL,
	"day" date NOT NULL,
	"events" integer NOT NULL,
	"cpu_core_seconds" double precision NOT NULL,
	"gpu_time_seconds" double precision NOT NULL,
	"storage_bytes_allocated" double precision NOT NULL,
	"walltime_allocated" double precision NOT NULL,
	CONSTRAINT "allocation_charges_pkey" PRIMARY KEY("allocation_id","day")
);
--> statement-breakpoint
CREATE TABLE "directory_sync_runs" (
	"run" text NOT NULL,
	"kind" text NOT NULL,
	"directory_id" text NOT NULL,
	"seen_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "directory_sync_runs_pkey" PRIMARY KEY("run","kind","directory_id")
);
--> statement-breakpoint
DROP INDEX "resource_usage_event_links_allocation";--> statement-breakpoint
ALTER TABLE "projects" ADD COLUMN "directory_id" text;--> statement-breakpoint
ALTER TABLE "projects" ADD COLUMN "active" boolean DEFAULT true NOT NULL;--> statement-breakpoint
ALTER TABLE "projects" ADD COLUMN "updated_at" timestamp with time zone DEFAULT now() NOT NULL;--> statement-breakpoint
ALTER TABLE "users" ADD COLUMN "directory_id" text;--> statement-breakpoint
ALTER TABLE "users" ADD COLUMN "active" boolean DEFAULT true NOT NULL;--> statement-breakpoint
ALTER TABLE "users" ADD COLUMN "updated_at" timestamp with time zone DEFAULT now() NOT NULL;--> statement-breakpoint
ALTER TABLE "allocations" ADD COLUMN "grants" jsonb DEFAULT '{}'::jsonb NOT NULL;--> statement-breakpoint
ALTER TABLE "allocations" ADD COLUMN "directory_id" text;--> statement-breakpoint
ALTER TABLE "allocations" ADD COLUMN "active" boolean DEFAULT true NOT NULL;--> statement-breakpoint
ALTER TABLE "allocations" ADD COLUMN "updated_at" timestamp with time zone DEFAULT now() NOT NULL;--> statement-breakpoint
CREATE INDEX "allocation_charges_day" ON "allocation_charges" USING btree ("day");--> statement-breakpoint
CREATE UNIQUE INDEX "projects_directory_id" ON "projects" USING btree ("directory_id");--> statement-breakpoint
CREATE UNIQUE INDEX "users_directory_id" ON "users" USING btree ("directory_id");--> statement-breakpoint
CREATE UNIQUE INDEX "allocations_directory_id" ON "allocations" USING btree ("directory_id");--> statement-breakpoint
CREATE INDEX "resource_usage_event_links_allocation_time" ON "resource_usage_event_links" USING btree ("allocation_id","event_time");--> statement-breakpoint
ALTER TABLE "projects" ADD CONSTRAINT "projects_directory_id_length" CHECK ("projects"."directory_id" IS NULL OR char_length("projects"."directory_id") BETWEEN 1 AND 128);--> statement-breakpoint
ALTER TABLE "users" ADD CONSTRAINT "users_directory_id_length" CHECK ("users"."directory_id" IS NULL OR char_length("users"."directory_id") BETWEEN 1 AND 128);--> statement-breakpoint
ALTER TABLE "allocations" ADD CONSTRAINT "allocations_directory_id_length" CHECK ("allocations"."directory_id" IS NULL OR char_length("allocations"."directory_id") BETWEEN 1 AND 128);
--> statement-breakpoint
-- Hand-written (docs/directory.md, "Balances"): allocation_charges is kept by statement triggers on the link table.
-- Each written, changed or deleted link that charges an allocation (resolved or manual) recomputes its
-- (allocation, UTC day) from the links and the events: sums, never increments, so the table cannot drift.
-- The triggers are on resource_usage_event_links (a plain table), never on resource_usage_events, which may be
-- a TimescaleDB hypertable (no transition tables there). Mapping recomputes the days of events whose metrics
-- changed while their link did not (src/mapping/map-events.ts).
CREATE OR REPLACE FUNCTION allocation_charges_recompute(allocs uuid[], days date[]) RETURNS void LANGUAGE sql AS $$
  WITH pairs AS (
    SELECT DISTINCT p.a, p.d FROM unnest(allocs, days) AS p(a, d) WHERE p.a IS NOT NULL AND p.d IS NOT NULL
  ), sums AS (
    SELECT p.a, p.d, count(*)::int AS events,
      coalesce(sum((e.metrics ->> 'cpu_core_seconds')::float8), 0) AS cpu_core_seconds,
      coalesce(sum((e.metrics ->> 'gpu_time_seconds')::float8), 0) AS gpu_time_seconds,
      coalesce(sum((e.metrics ->> 'storage_bytes_allocated')::float8), 0) AS storage_bytes_allocated,
      coalesce(sum((e.metrics ->> 'walltime_allocated')::float8), 0) AS walltime_allocated
    FROM pairs p
    JOIN resource_usage_event_links l ON l.allocation_id = p.a
      AND l.event_time >= (p.d::timestamp AT TIME ZONE 'UTC') AND l.event_time < ((p.d + 1)::timestamp AT TIME ZONE 'UTC')
      AND l.status IN ('resolved', 'manual')
    JOIN resource_usage_events e ON e.id = l.event_id AND e.time_window_start = l.event_time
    GROUP BY p.a, p.d
  ), gone AS (
    DELETE FROM allocation_charges c USING pairs p
    WHERE c.allocation_id = p.a AND c.day = p.d AND NOT EXISTS (SELECT 1 FROM sums s WHERE s.a = p.a AND s.d = p.d)
  )
  INSERT INTO allocation_charges AS c (allocation_id, day, events, cpu_core_seconds, gpu_time_seconds, storage_bytes_allocated, walltime_allocated)
  SELECT a, d, events, cpu_core_seconds, gpu_time_seconds, storage_bytes_allocated, walltime_allocated FROM sums
  ON CONFLICT (allocation_id, day) DO UPDATE SET events = EXCLUDED.events, cpu_core_seconds = EXCLUDED.cpu_core_seconds,
    gpu_time_seconds = EXCLUDED.gpu_time_seconds, storage_bytes_allocated = EXCLUDED.storage_bytes_allocated,
    walltime_allocated = EXCLUDED.walltime_allocated
  WHERE (c.events, c.cpu_core_seconds, c.gpu_time_seconds, c.storage_bytes_allocated, c.walltime_allocated)
    IS DISTINCT FROM (EXCLUDED.events, EXCLUDED.cpu_core_seconds, EXCLUDED.gpu_time_seconds, EXCLUDED.storage_bytes_allocated, EXCLUDED.walltime_allocated)
$$;
--> statement-breakpoint
CREATE OR REPLACE FUNCTION allocation_charges_from_links() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    PERFORM allocation_charges_recompute(array_agg(n.allocation_id), array_agg((n.event_time AT TIME ZONE 'UTC')::date))
    FROM new_links n WHERE n.allocation_id IS NOT NULL AND n.status IN ('resolved', 'manual');
  ELSIF TG_OP = 'DELETE' THEN
    PERFORM allocation_charges_recompute(array_agg(o.allocation_id), array_agg((o.event_time AT TIME ZONE 'UTC')::date))
    FROM old_links o WHERE o.allocation_id IS NOT NULL AND o.status IN ('resolved', 'manual');
  ELSE
    PERFORM allocation_charges_recompute(array_agg(x.a), array_agg(x.d)) FROM (
      SELECT o.allocation_id AS a, (o.event_time AT TIME ZONE 'UTC')::date AS d
      FROM old_links o JOIN new_links n ON n.event_id = o.event_id
      WHERE o.allocation_id IS NOT NULL AND o.status IN ('resolved', 'manual')
        AND (o.allocation_id, o.status, o.event_time) IS DISTINCT FROM (n.allocation_id, n.status, n.event_time)
      UNION
      SELECT n.allocation_id, (n.event_time AT TIME ZONE 'UTC')::date
      FROM old_links o JOIN new_links n ON n.event_id = o.event_id
      WHERE n.allocation_id IS NOT NULL AND n.status IN ('resolved', 'manual')
        AND (o.allocation_id, o.status, o.event_time) IS DISTINCT FROM (n.allocation_id, n.status, n.event_time)) x;
  END IF;
  RETURN NULL;
END $$;
--> statement-breakpoint
CREATE TRIGGER allocation_charges_links_insert AFTER INSERT ON resource_usage_event_links
  REFERENCING NEW TABLE AS new_links FOR EACH STATEMENT EXECUTE FUNCTION allocation_charges_from_links();
--> statement-breakpoint
CREATE TRIGGER allocation_charges_links_update AFTER UPDATE ON resource_usage_event_links
  REFERENCING OLD TABLE AS old_links NEW TABLE AS new_links FOR EACH STATEMENT EXECUTE FUNCTION allocation_charges_from_links();
--> statement-breakpoint
CREATE TRIGGER allocation_charges_links_delete AFTER DELETE ON resource_usage_event_links
  REFERENCING OLD TABLE AS old_links FOR EACH STATEMENT EXECUTE FUNCTION allocation_charges_from_links();
--> statement-breakpoint
-- The links that exist already.
SELECT allocation_charges_recompute(array_agg(allocation_id), array_agg((event_time AT TIME ZONE 'UTC')::date))
FROM resource_usage_event_links WHERE allocation_id IS NOT NULL AND status IN ('resolved', 'manual');
