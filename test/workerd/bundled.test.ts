// The demo pair as the Worker bundles it (worker/demo-models.ts), inside workerd: every file a checkpoint's
// manifest lists is either bundled or named in NOT_BUNDLED (never both), and the Worker's reader verifies the
// bundled bytes against the manifest. (The reader's refusals: engine/checkpoint-bundled.test.ts.)
import { describe, expect, it } from "vitest";
import { BUNDLED_CHECKPOINTS, NOT_BUNDLED } from "../../apps/gateway/src/worker/demo-models";
import { readerFor } from "../../apps/gateway/src/worker/gateway";
import type { WorkerEnv } from "../../apps/gateway/src/worker/env";

describe("the bundled demo pair", () => {
  for (const [location, files] of Object.entries(BUNDLED_CHECKPOINTS)) {
    it(`${location}: bundles the manifest's files except NOT_BUNDLED, and they verify`, async () => {
      const manifest = JSON.parse(new TextDecoder().decode(files["manifest.json"])) as { files: Record<string, unknown> };
      const bundled = Object.keys(files).filter((f) => f !== "manifest.json");
      expect(bundled.filter((f) => NOT_BUNDLED.includes(f))).toEqual([]);
      expect([...bundled, ...NOT_BUNDLED].sort()).toEqual(Object.keys(manifest.files).sort());
      expect(bundled).toContain("onnx/model.onnx");
      const verified = await readerFor(location, {} as WorkerEnv).verify();
      expect(verified.files).toEqual(manifest.files);
    });
  }
});
