CREATE TABLE "admin_tokens" (
	"name" text PRIMARY KEY NOT NULL,
	"sha256" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"revoked_at" timestamp with time zone,
	CONSTRAINT "admin_tokens_sha256_unique" UNIQUE("sha256")
);
--> statement-breakpoint
ALTER TABLE "promotions" ADD COLUMN "alert_id" integer;