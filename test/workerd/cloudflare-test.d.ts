// Types of the workerd test runtime's modules, as far as the Worker tests use them
// (@cloudflare/vitest-pool-workers' own declarations need the Workers globals, which clash with the DOM lib).
declare module "cloudflare:test" {
  import type { ExecutionContext, R2Bucket, ScheduledController } from "@cloudflare/workers-types/index.ts";
  export const env: { MODELS: R2Bucket; TEST_BUCKET: R2Bucket; HYPERDRIVE?: { connectionString: string }; [name: string]: unknown };
  export function createExecutionContext(): ExecutionContext;
  export function waitOnExecutionContext(ctx: ExecutionContext): Promise<void>;
  export function createScheduledController(options?: { scheduledTime?: Date | number; cron?: string }): ScheduledController;
}
