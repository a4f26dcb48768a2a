// Entry of a data-parallel replica thread: worker_threads start plain JavaScript, so register tsx's loader
// (the trainer runs from TypeScript sources) and then load the replica itself.
import { register } from "tsx/esm/api";
import { workerData } from "node:worker_threads";

register();
await import(workerData.entry);
