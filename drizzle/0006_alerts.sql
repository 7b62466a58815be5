CREATE TABLE IF NOT EXISTS "alerts" (
	-- Alerts (src/alerts/, docs/alerts.md): one row per rule + labels. Safe to run again: IF NOT EXISTS.
	"fingerprint" text PRIMARY KEY NOT NULL,
	"rule" text NOT NULL,
	"labels" jsonb NOT NULL,
	"severity" text NOT NULL,
	"state" text NOT NULL,
	"summary" text NOT NULL,
	"first_seen" timestamp with time zone NOT NULL,
	"last_seen" timestamp with time zone NOT NULL,
	"resolved_at" timestamp with time zone,
	"last_notified" timestamp with time zone,
	"silenced_until" timestamp with time zone,
	"silence_note" text,
	CONSTRAINT "alerts_rule" CHECK (rule IN ('collection_lag', 'collection_dead_letter', 'relay_down', 'unmapped_share', 'allocation_share')),
	CONSTRAINT "alerts_severity" CHECK (severity IN ('warning', 'critical')),
	CONSTRAINT "alerts_state" CHECK (state IN ('firing', 'resolved'))
);
--> statement-breakpoint
CREATE INDEX IF NOT EXISTS "alerts_state_seen" ON "alerts" USING btree ("state","last_seen" DESC NULLS LAST);