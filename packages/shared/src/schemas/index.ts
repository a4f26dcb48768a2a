// Every contract Tether reads or writes, as zod schemas with their inferred types.
export * from "./common";
export * from "./hf-config";
export * from "./manifest";
export * from "./eval";
export * from "./freeze-spec";
export * from "./trainer-config";
export * from "./drift-guard";
export * from "./gateway-config";
export * from "./openai";
export * from "./openai-response";
export * from "./openai-error";
export * from "./sketch";
export * from "./alerts";
