// Hono's per-request variables, set by the app's first middleware.
export type AppEnv = {
  Variables: {
    requestId: string; // also the x-tether-request-id response header
    arrivedAt: number; // clock ms, before the body is read
    adminName: string; // set by admin/auth.ts requireAdmin on /admin routes: the matched token's name
    apiKeyName: string | undefined; // set by routes/api-keys.ts on /v1/*: the issued key's name, "config" for a config key
  };
};
