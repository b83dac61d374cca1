// Resolve hook for default-runtime.mjs: Node built-ins are unavailable to repository code and @noble.
import { isBuiltin } from "node:module";

const guarded = (parent) =>
  typeof parent === "string" &&
  parent.startsWith("file:") &&
  (!parent.includes("/node_modules/") || parent.includes("/node_modules/@noble/"));

export async function resolve(specifier, context, next) {
  if (isBuiltin(specifier) && guarded(context.parentURL)) {
    throw new Error(`${specifier} is not available in Convex's default runtime (imported by ${context.parentURL})`);
  }
  return next(specifier, context);
}
