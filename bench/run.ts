// `npm run bench -- <name>`: runs one benchmark (or all). Each prints its numbers with the backend and load.
import { benchConcurrency } from "./concurrency";
import { benchDriftLog } from "./drift-log";
import { benchDecode } from "./decode";
import { benchDecodePeer } from "./decode-peer";
import { benchDecodeProfile } from "./decode-profile";
import { benchGateway } from "./gateway-overhead";
import { benchGuard } from "./guard-overhead";
import { benchIdleRss } from "./idle-rss";
import { benchInt8Forms } from "./int8-forms";
import { benchRequestProfile } from "./request-profile";
import { benchMonitor } from "./monitor";
import { benchSwapMemory } from "./swap-memory";
import { benchSketchCalibration } from "./sketch-calibration";
import { benchTrain } from "./train-throughput";
import { benchWorkerDecode } from "./worker-decode";
import { benchWorkerLimits } from "./worker-limits";
import { profileTrain } from "./train-profile";

const BENCHES: Record<string, () => Promise<void>> = {
  train: () => benchTrain(),
  "train-profile": () => profileTrain(),
  decode: () => benchDecode(),
  "decode-peer": () => benchDecodePeer(),
  "decode-profile": () => benchDecodeProfile(),
  "drift-log": () => benchDriftLog(),
  guard: () => benchGuard(),
  gateway: () => benchGateway(),
  profile: () => benchRequestProfile(),
  "int8-forms": () => benchInt8Forms(),
  monitor: () => benchMonitor(),
  "swap-memory": () => benchSwapMemory(),
  "sketch-calibration": () => benchSketchCalibration(),
  "worker-decode": () => benchWorkerDecode(),
  "worker-limits": () => benchWorkerLimits(),
  concurrency: () => benchConcurrency(),
  "idle-rss": () => benchIdleRss(),
};

const args = process.argv.slice(2);
const VALUE_FLAGS = new Set(["--seconds", "--connections"]); // their values are not benchmark names
const names = args.filter((a, i) => !a.startsWith("-") && !VALUE_FLAGS.has(args[i - 1] ?? ""));
const selected = names.length ? names : Object.keys(BENCHES);
for (const name of selected) {
  const bench = BENCHES[name];
  if (!bench) {
    console.error(`bench: unknown benchmark "${name}" (available: ${Object.keys(BENCHES).join(", ")})`);
    process.exitCode = 2;
    continue;
  }
  await bench();
}
