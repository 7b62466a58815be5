CREATE TABLE IF NOT EXISTS "collection_days" (
	"cluster" text NOT NULL,
	"day" date NOT NULL,
	"status" text NOT NULL,
	"attempts" integer DEFAULT 0 NOT NULL,
	"last_run_id" uuid,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "collection_days_cluster_day_pk" PRIMARY KEY("cluster","day"),
	CONSTRAINT "collection_days_status" CHECK (status IN ('queued', 'succeeded', 'failed'))
);
--> statement-breakpoint
CREATE TABLE IF NOT EXISTS "collection_runs" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"cluster" text NOT NULL,
	"day" date NOT NULL,
	"trigger" text NOT NULL,
	"attempt" integer NOT NULL,
	"status" text NOT NULL,
	"started_at" timestamp with time zone NOT NULL,
	"finished_at" timestamp with time zone NOT NULL,
	"duration_ms" integer NOT NULL,
	"jobs" integer DEFAULT 0 NOT NULL,
	"events" integer DEFAULT 0 NOT NULL,
	"inserted" integer DEFAULT 0 NOT NULL,
	"updated" integer DEFAULT 0 NOT NULL,
	"unchanged" integer DEFAULT 0 NOT NULL,
	"malformed" integer DEFAULT 0 NOT NULL,
	"skipped" integer DEFAULT 0 NOT NULL,
	"details" jsonb,
	"error" text,
	CONSTRAINT "collection_runs_trigger" CHECK (trigger IN ('cron', 'backfill')),
	CONSTRAINT "collection_runs_status" CHECK (status IN ('succeeded', 'failed'))
);
--> statement-breakpoint
CREATE TABLE IF NOT EXISTS "collection_watermarks" (
	"cluster" text PRIMARY KEY NOT NULL,
	"through_day" date NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE INDEX IF NOT EXISTS "collection_runs_recent" ON "collection_runs" USING btree ("started_at" DESC NULLS LAST);--> statement-breakpoint
CREATE INDEX IF NOT EXISTS "collection_runs_cluster_day" ON "collection_runs" USING btree ("cluster","day");