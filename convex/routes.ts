import type { HttpRouter, PublicHttpAction } from "convex/server";
import { preflight } from "./access/http";
import { accessOf } from "./access/classes";

type Method = "GET" | "POST" | "PUT" | "DELETE" | "PATCH";

/**
 * Registers a route built with `endpoint()` (so it carries an access class) plus its CORS preflight.
 * Domains export their routes as lists of these; http.ts only mounts them.
 */
export type RouteSpec = { path?: string; pathPrefix?: string; method: Method; handler: PublicHttpAction };

export function mount(http: HttpRouter, specs: RouteSpec[]): void {
  const preflighted = new Set<string>();
  for (const s of specs) {
    if (!accessOf(s.handler)) throw new Error(`route ${s.path ?? s.pathPrefix} has no access class`);
    const where = s.path ? { path: s.path } : { pathPrefix: s.pathPrefix! };
    http.route({ ...where, method: s.method, handler: s.handler });
    const key = s.path ?? `prefix:${s.pathPrefix}`;
    if (!preflighted.has(key)) {
      preflighted.add(key);
      http.route({ ...where, method: "OPTIONS", handler: preflight });
    }
  }
}
