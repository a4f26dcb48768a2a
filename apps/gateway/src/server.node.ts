// Node entry of the gateway. Until the ONNX engine lands (issue #5) it checks for the demo checkpoints
// and says what is missing and how to get them, exiting cleanly instead of crashing.
import { existsSync } from "node:fs";
import { resolve } from "node:path";

const policy = resolve(process.env.TETHER_POLICY ?? "models/demo/policy");
const reference = resolve(process.env.TETHER_REFERENCE ?? "models/demo/reference");
const missing = [policy, reference].filter((dir) => !existsSync(resolve(dir, "manifest.json")));

if (missing.length > 0) {
  console.log(`tether: no checkpoint at ${missing.join(" or ")} yet.`);
  console.log("tether: the demo pair is made by the trainer (`npm run train:demo`, issues #3–#4) and served by the gateway (issue #5);");
  console.log("tether: point TETHER_POLICY / TETHER_REFERENCE at checkpoint directories to use your own.");
} else {
  console.log(`tether: checkpoints found (policy ${policy}, reference ${reference}); the serving engine is not built yet (issue #5).`);
}
