CREATE TABLE "webhook_deliveries" (
	"id" integer PRIMARY KEY GENERATED ALWAYS AS IDENTITY (sequence name "webhook_deliveries_id_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 2147483647 START WITH 1 CACHE 1),
	"url" text NOT NULL,
	"event" text NOT NULL,
	"event_seq" integer NOT NULL,
	"alert_id" integer,
	"attempt" integer NOT NULL,
	"status" integer,
	"ok" boolean NOT NULL,
	"error" text,
	"duration_ms" double precision NOT NULL,
	"created_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
ALTER TABLE "alerts" DROP CONSTRAINT "alerts_state_check";--> statement-breakpoint
ALTER TABLE "alerts" ADD COLUMN "severity" text DEFAULT 'warning' NOT NULL;--> statement-breakpoint
ALTER TABLE "alerts" ADD COLUMN "arm" text DEFAULT 'active' NOT NULL;--> statement-breakpoint
ALTER TABLE "alerts" ADD COLUMN "metric" text;--> statement-breakpoint
ALTER TABLE "alerts" ADD COLUMN "window" text;--> statement-breakpoint
ALTER TABLE "alerts" ADD COLUMN "statistic" text;--> statement-breakpoint
ALTER TABLE "alerts" ADD COLUMN "comparison" text;--> statement-breakpoint
ALTER TABLE "alerts" ADD COLUMN "samples" integer;--> statement-breakpoint
ALTER TABLE "alerts" ADD COLUMN "pending_since" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "alerts" ADD COLUMN "fired_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "alerts" ADD COLUMN "dedupe_key" text;--> statement-breakpoint
ALTER TABLE "alerts" ADD COLUMN "event_seq" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "requests" ADD COLUMN "arm" text DEFAULT 'active' NOT NULL;--> statement-breakpoint
CREATE INDEX "webhook_deliveries_created_at_idx" ON "webhook_deliveries" USING btree ("created_at");--> statement-breakpoint
CREATE INDEX "webhook_deliveries_alert_idx" ON "webhook_deliveries" USING btree ("alert_id");--> statement-breakpoint
CREATE INDEX "alerts_event_seq_idx" ON "alerts" USING btree ("event_seq");--> statement-breakpoint
CREATE UNIQUE INDEX "alerts_open_dedupe_idx" ON "alerts" USING btree ("dedupe_key") WHERE state in ('pending', 'firing');--> statement-breakpoint
ALTER TABLE "alerts" ADD CONSTRAINT "alerts_severity_check" CHECK ("alerts"."severity" in ('warning', 'critical'));--> statement-breakpoint
ALTER TABLE "alerts" ADD CONSTRAINT "alerts_arm_check" CHECK ("alerts"."arm" in ('active', 'canary'));--> statement-breakpoint
ALTER TABLE "alerts" ADD CONSTRAINT "alerts_state_check" CHECK ("alerts"."state" in ('pending', 'firing', 'resolved'));--> statement-breakpoint
ALTER TABLE "requests" ADD CONSTRAINT "requests_arm_check" CHECK ("requests"."arm" in ('active', 'canary'));