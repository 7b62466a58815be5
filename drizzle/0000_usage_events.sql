CREATE TABLE IF NOT EXISTS "resource_usage_events" (
	"id" uuid DEFAULT gen_random_uuid() NOT NULL,
	"schema_version" text NOT NULL,
	"source" text NOT NULL,
	"time_window_start" timestamp with time zone NOT NULL,
	"time_window_end" timestamp with time zone NOT NULL,
	"collected_at" timestamp with time zone NOT NULL,
	"received_at" timestamp with time zone DEFAULT now() NOT NULL,
	"metrics" jsonb NOT NULL,
	"identities" jsonb NOT NULL,
	"context" jsonb NOT NULL,
	"extra" jsonb,
	"natural_key" text NOT NULL,
	CONSTRAINT "resource_usage_events_pkey" PRIMARY KEY("id","time_window_start"),
	CONSTRAINT "resource_usage_events_source" CHECK (source IN ('pbs', 'openstack')),
	CONSTRAINT "resource_usage_events_window" CHECK ("resource_usage_events"."time_window_end" > "resource_usage_events"."time_window_start")
);
--> statement-breakpoint
CREATE UNIQUE INDEX IF NOT EXISTS "resource_usage_events_natural_key" ON "resource_usage_events" USING btree ("natural_key","time_window_start");--> statement-breakpoint
CREATE INDEX IF NOT EXISTS "resource_usage_events_time" ON "resource_usage_events" USING btree ("time_window_start" DESC NULLS LAST);--> statement-breakpoint
CREATE INDEX IF NOT EXISTS "resource_usage_events_source_time" ON "resource_usage_events" USING btree ("source","time_window_start" DESC NULLS LAST);--> statement-breakpoint
CREATE INDEX IF NOT EXISTS "resource_usage_events_cluster_project_time" ON "resource_usage_events" USING btree (("context" ->> 'cluster'),("context" ->> 'project'),"time_window_start" DESC NULLS LAST);