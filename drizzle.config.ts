// drizzle-kit config: the schema in packages/db generates the committed SQL under migrations/ (`npx drizzle-kit generate --name <name>`).
import { defineConfig } from "drizzle-kit";

export default defineConfig({
  dialect: "postgresql",
  schema: "packages/db/src/schema.ts",
  out: "migrations",
});
