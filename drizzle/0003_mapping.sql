CREATE TABLE IF NOT EXISTS "projects" (
	-- Link mapping: the allocation system's records that mapping reads (projects, users, allocations)
	-- and one link per usage event. Safe to run again: IF NOT EXISTS everywhere, and each foreign key
	-- is added only when missing (no exception block: subtransactions trip some PGlite builds). resource_usage_event_links has no foreign keys
	-- on purpose (see src/db/schema/event-links.ts).
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"name" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE IF NOT EXISTS "users" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"external_id" text,
	"email" text,
	"username" text,
	"default_project_id" uuid,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE IF NOT EXISTS "allocations" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"project_id" uuid NOT NULL,
	"kind" text NOT NULL,
	"payload" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"valid_from" timestamp with time zone NOT NULL,
	"valid_to" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "allocations_kind" CHECK (kind IN ('hpc', 'openstack')),
	CONSTRAINT "allocations_validity" CHECK ("allocations"."valid_to" IS NULL OR "allocations"."valid_to" > "allocations"."valid_from")
);
--> statement-breakpoint
CREATE TABLE IF NOT EXISTS "resource_usage_event_links" (
	"event_id" uuid PRIMARY KEY NOT NULL,
	"event_time" timestamp with time zone NOT NULL,
	"user_id" uuid,
	"project_id" uuid,
	"allocation_id" uuid,
	"status" text NOT NULL,
	"reasons" jsonb DEFAULT '[]'::jsonb NOT NULL,
	"rule_version" integer NOT NULL,
	"mapped_at" timestamp with time zone DEFAULT now() NOT NULL,
	"note" text,
	CONSTRAINT "resource_usage_event_links_status" CHECK (status IN ('resolved', 'partial', 'unresolved', 'manual'))
);
--> statement-breakpoint
DO $$ BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_constraint WHERE conname = 'users_default_project_id_projects_id_fk') THEN
    ALTER TABLE "users" ADD CONSTRAINT "users_default_project_id_projects_id_fk" FOREIGN KEY ("default_project_id") REFERENCES "public"."projects"("id") ON DELETE set null ON UPDATE no action;
  END IF;
END $$;--> statement-breakpoint
DO $$ BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_constraint WHERE conname = 'allocations_project_id_projects_id_fk') THEN
    ALTER TABLE "allocations" ADD CONSTRAINT "allocations_project_id_projects_id_fk" FOREIGN KEY ("project_id") REFERENCES "public"."projects"("id") ON DELETE cascade ON UPDATE no action;
  END IF;
END $$;--> statement-breakpoint
CREATE UNIQUE INDEX IF NOT EXISTS "projects_name" ON "projects" USING btree ("name");--> statement-breakpoint
CREATE UNIQUE INDEX IF NOT EXISTS "users_external_id" ON "users" USING btree ("external_id");--> statement-breakpoint
CREATE UNIQUE INDEX IF NOT EXISTS "users_email_lower" ON "users" USING btree (lower("email"));--> statement-breakpoint
CREATE UNIQUE INDEX IF NOT EXISTS "users_username" ON "users" USING btree ("username");--> statement-breakpoint
CREATE INDEX IF NOT EXISTS "users_default_project" ON "users" USING btree ("default_project_id");--> statement-breakpoint
CREATE INDEX IF NOT EXISTS "allocations_project_latest" ON "allocations" USING btree ("project_id","kind","valid_from" DESC NULLS LAST,"created_at" DESC NULLS LAST,"id" DESC NULLS LAST);--> statement-breakpoint
CREATE INDEX IF NOT EXISTS "allocations_openstack_project_id" ON "allocations" USING btree (("payload" -> 'openstack' ->> 'project_id')) WHERE kind = 'openstack';--> statement-breakpoint
CREATE INDEX IF NOT EXISTS "allocations_openstack_project_name" ON "allocations" USING btree (("payload" -> 'openstack' ->> 'project_name')) WHERE kind = 'openstack';--> statement-breakpoint
CREATE INDEX IF NOT EXISTS "resource_usage_event_links_status_time" ON "resource_usage_event_links" USING btree ("status","event_time" DESC NULLS LAST,"event_id" DESC NULLS LAST);--> statement-breakpoint
CREATE INDEX IF NOT EXISTS "resource_usage_event_links_project_time" ON "resource_usage_event_links" USING btree ("project_id","event_time" DESC NULLS LAST);--> statement-breakpoint
CREATE INDEX IF NOT EXISTS "resource_usage_event_links_user" ON "resource_usage_event_links" USING btree ("user_id");--> statement-breakpoint
CREATE INDEX IF NOT EXISTS "resource_usage_event_links_allocation" ON "resource_usage_event_links" USING btree ("allocation_id");