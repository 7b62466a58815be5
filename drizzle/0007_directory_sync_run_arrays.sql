-- directory_sync_runs: one row per request of a full run (its ids as one array) instead of one row per id.
-- A run in progress keeps what its earlier requests named: its rows become one row per (run, kind).
ALTER TABLE "directory_sync_runs" DROP CONSTRAINT "directory_sync_runs_pkey";--> statement-breakpoint
ALTER TABLE "directory_sync_runs" ADD COLUMN "directory_ids" text[];--> statement-breakpoint
INSERT INTO "directory_sync_runs" ("run", "kind", "directory_id", "directory_ids", "seen_at")
	SELECT "run", "kind", '', array_agg("directory_id"), min("seen_at") FROM "directory_sync_runs" GROUP BY "run", "kind";--> statement-breakpoint
DELETE FROM "directory_sync_runs" WHERE "directory_ids" IS NULL;--> statement-breakpoint
ALTER TABLE "directory_sync_runs" ALTER COLUMN "directory_ids" SET NOT NULL;--> statement-breakpoint
CREATE INDEX "directory_sync_runs_run" ON "directory_sync_runs" USING btree ("run","kind");--> statement-breakpoint
ALTER TABLE "directory_sync_runs" DROP COLUMN "directory_id";
