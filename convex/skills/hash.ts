/** Review hash of a skill: what the owner approved. Any change to it sends the skill back to review. */
import { sha256Hex } from "../lib/tokens";

/** JSON with object keys sorted at every level, so equal values hash equally. */
export function canonicalJson(value: unknown): string {
  if (value === undefined) return "null";
  if (value === null || typeof value !== "object") return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  const keys = Object.keys(value as Record<string, unknown>)
    .filter((k) => (value as Record<string, unknown>)[k] !== undefined)
    .sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson((value as Record<string, unknown>)[k])}`).join(",")}}`;
}

export type Reviewed = {
  type: string;
  description: string;
  inputSchema: unknown;
  config: unknown;
  allowedDomains: string[];
  allowHttp?: boolean;
  secretNames: string[];
};

/** Hash over everything a reviewer judges: type, description, schema, config, domains, secrets. */
export async function reviewHash(s: Reviewed): Promise<string> {
  return await sha256Hex(
    canonicalJson({
      v: 1,
      type: s.type,
      description: s.description,
      inputSchema: s.inputSchema,
      config: s.config,
      allowedDomains: [...s.allowedDomains].sort(),
      allowHttp: s.allowHttp === true,
      secretNames: [...s.secretNames].sort(),
    }),
  );
}
