// @tether/shared: the pure-TypeScript core shared by trainer, gateway and browser (no node: imports).
export * from "./errors";
export * from "./math/softmax";
export * from "./math/kl";
export * from "./math/estimators";
export * from "./sampling/prng";
export * from "./sampling/sample";
export * from "./sampling/stop";
export * from "./io/safetensors";
export * from "./sketch/index";
export * from "./schemas/index";
