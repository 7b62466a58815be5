CREATE TABLE "operator_session_revocations" (
	"nonce" text PRIMARY KEY NOT NULL,
	"expires_at" timestamp with time zone NOT NULL,
	"revoked_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE INDEX "operator_session_revocations_expires_idx" ON "operator_session_revocations" USING btree ("expires_at");