/** Access classes every public function and HTTP route declares (the endpoint inventory). */
export const ACCESS_CLASSES = [
  "owner",
  "admin",
  "viewer",
  "session",
  "channel-webhook",
  "mcp-client",
  "runner",
  "none",
] as const;
export type AccessClass = (typeof ACCESS_CLASSES)[number];

export const ACCESS_TAG = "__wardenAccess";

export function tagAccess<T extends object>(fn: T, access: AccessClass): T {
  Object.defineProperty(fn, ACCESS_TAG, { value: access, enumerable: false });
  return fn;
}

export function accessOf(fn: unknown): AccessClass | undefined {
  if (fn && (typeof fn === "object" || typeof fn === "function")) {
    return (fn as Record<string, unknown>)[ACCESS_TAG] as AccessClass | undefined;
  }
  return undefined;
}
