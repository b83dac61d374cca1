// Module resolve hook: the conformance CLI's `fs` import gets fs-shim.mjs (Node 20 only).
const SHIM = new URL("./fs-shim.mjs", import.meta.url).href;
export async function resolve(specifier, context, next) {
  if (
    (specifier === "fs" || specifier === "node:fs") &&
    context.parentURL?.includes("/@modelcontextprotocol/conformance/")
  ) {
    return { url: SHIM, shortCircuit: true };
  }
  return next(specifier, context);
}
