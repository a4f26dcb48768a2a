// Module types of what wrangler.toml's [[rules]] import for the Worker: checkpoint files as Data
// (ArrayBuffer) and onnxruntime-web's .wasm as a compiled WebAssembly.Module.
declare module "*.onnx" {
  const data: ArrayBuffer;
  export default data;
}
declare module "*.safetensors" {
  const data: ArrayBuffer;
  export default data;
}
declare module "*.jsonl" {
  const data: ArrayBuffer;
  export default data;
}
declare module "*.wasm" {
  const module: WebAssembly.Module;
  export default module;
}
