CREATE TABLE "alerts" (
	"id" integer PRIMARY KEY GENERATED ALWAYS AS IDENTITY (sequence name "alerts_id_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 2147483647 START WITH 1 CACHE 1),
	"rule" text NOT NULL,
	"state" text NOT NULL,
	"checkpoint_id" text,
	"since" timestamp with time zone NOT NULL,
	"resolved_at" timestamp with time zone,
	"value" double precision,
	"threshold" double precision,
	"details" jsonb,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "alerts_state_check" CHECK ("alerts"."state" in ('firing', 'resolved'))
);
--> statement-breakpoint
CREATE TABLE "checkpoints" (
	"id" text PRIMARY KEY NOT NULL,
	"kind" text NOT NULL,
	"parent_id" text,
	"reference_id" text,
	"path" text NOT NULL,
	"manifest" jsonb NOT NULL,
	"eval" jsonb,
	"status" text DEFAULT 'registered' NOT NULL,
	"canary_percent" double precision,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "checkpoints_kind_check" CHECK ("checkpoints"."kind" in ('reference', 'policy')),
	CONSTRAINT "checkpoints_status_check" CHECK ("checkpoints"."status" in ('registered', 'active', 'canary', 'retired')),
	CONSTRAINT "checkpoints_canary_percent_check" CHECK ("checkpoints"."canary_percent" between 0 and 100)
);
--> statement-breakpoint
CREATE TABLE "drift_samples" (
	"request_id" text NOT NULL,
	"created_at" timestamp with time zone NOT NULL,
	"round" integer NOT NULL,
	"candidate" integer NOT NULL,
	"choice_index" integer,
	"layer" integer NOT NULL,
	"kl_mean" double precision NOT NULL,
	"kl_max" double precision NOT NULL,
	"kl_sum" double precision NOT NULL,
	"log_ratio" double precision NOT NULL,
	"accepted" boolean NOT NULL,
	"sketch_score" double precision,
	"sketch_percentile" double precision,
	CONSTRAINT "drift_samples_pkey" PRIMARY KEY("created_at","request_id","round","candidate","layer"),
	CONSTRAINT "drift_samples_index_check" CHECK ("drift_samples"."round" >= 0 and "drift_samples"."candidate" >= 0 and "drift_samples"."layer" >= -1),
	CONSTRAINT "drift_samples_percentile_check" CHECK ("drift_samples"."sketch_percentile" between 0 and 100)
);
--> statement-breakpoint
CREATE TABLE "promotions" (
	"id" integer PRIMARY KEY GENERATED ALWAYS AS IDENTITY (sequence name "promotions_id_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 2147483647 START WITH 1 CACHE 1),
	"checkpoint_id" text NOT NULL,
	"previous_checkpoint_id" text,
	"action" text NOT NULL,
	"canary_percent" double precision,
	"forced" boolean DEFAULT false NOT NULL,
	"reason" text,
	"actor" text,
	"gate" jsonb,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "promotions_action_check" CHECK ("promotions"."action" in ('promote', 'canary', 'rollback')),
	CONSTRAINT "promotions_canary_percent_check" CHECK ("promotions"."canary_percent" between 0 and 100)
);
--> statement-breakpoint
CREATE TABLE "requests" (
	"id" text NOT NULL,
	"created_at" timestamp with time zone NOT NULL,
	"endpoint" text NOT NULL,
	"model" text NOT NULL,
	"policy_id" text,
	"reference_id" text,
	"end_user" text,
	"n" integer DEFAULT 1 NOT NULL,
	"prompt_tokens" integer DEFAULT 0 NOT NULL,
	"completion_tokens" integer DEFAULT 0 NOT NULL,
	"status" integer NOT NULL,
	"guard_mode" text,
	"guard_max_kl" double precision,
	"guard_candidates" integer,
	"guard_max_rounds" integer,
	"rounds" integer,
	"accepted" integer DEFAULT 0 NOT NULL,
	"fallback" text,
	"kl_mean" double precision,
	"queue_ms" double precision,
	"generate_ms" double precision,
	"guard_ms" double precision,
	"total_ms" double precision NOT NULL,
	"error_code" text,
	CONSTRAINT "requests_pkey" PRIMARY KEY("created_at","id"),
	CONSTRAINT "requests_endpoint_check" CHECK ("requests"."endpoint" in ('completions', 'chat.completions')),
	CONSTRAINT "requests_guard_mode_check" CHECK ("requests"."guard_mode" in ('hard', 'soft')),
	CONSTRAINT "requests_fallback_check" CHECK ("requests"."fallback" in ('reference', 'least_kl', 'reject')),
	CONSTRAINT "requests_counts_check" CHECK ("requests"."n" >= 1 and "requests"."prompt_tokens" >= 0 and "requests"."completion_tokens" >= 0)
);
--> statement-breakpoint
ALTER TABLE "promotions" ADD CONSTRAINT "promotions_checkpoint_fk" FOREIGN KEY ("checkpoint_id") REFERENCES "public"."checkpoints"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "promotions" ADD CONSTRAINT "promotions_previous_checkpoint_fk" FOREIGN KEY ("previous_checkpoint_id") REFERENCES "public"."checkpoints"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "alerts_state_since_idx" ON "alerts" USING btree ("state","since");--> statement-breakpoint
CREATE INDEX "alerts_rule_idx" ON "alerts" USING btree ("rule","checkpoint_id");--> statement-breakpoint
CREATE INDEX "checkpoints_status_idx" ON "checkpoints" USING btree ("status");--> statement-breakpoint
CREATE INDEX "promotions_created_at_idx" ON "promotions" USING btree ("created_at");--> statement-breakpoint
CREATE INDEX "promotions_checkpoint_idx" ON "promotions" USING btree ("checkpoint_id","created_at");--> statement-breakpoint
CREATE INDEX "requests_id_idx" ON "requests" USING btree ("id");--> statement-breakpoint
CREATE INDEX "requests_policy_created_at_idx" ON "requests" USING btree ("policy_id","created_at");