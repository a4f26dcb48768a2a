// Module types of what wrangler.toml's [[rules]] import for the Worker: checkpoint files as Data
// (ArrayBuffer), onnxruntime-web's .wasm as a compiled WebAssembly.Module, the dashboard's files as Text.
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
// The dashboard's files as text (wrangler.toml's Text rule; worker/dashboard-assets.ts).
declare module "uplot/dist/*" {
  const text: string;
  export default text;
}
declare module "@tether/gateway/src/dashboard/client/*" {
  const text: string;
  export default text;
}
declare module "@tether/gateway/src/dashboard/client/sse-parser.js" {
  const text: string; // the browser module sse-parser.test.ts imports as code; the Worker takes its text
  export default text;
}
