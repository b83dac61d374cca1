import { httpActionGeneric, type HttpRouter, type PublicHttpAction } from "convex/server";
import { preflight } from "./access/http";
import { accessOf, tagAccess } from "./access/classes";
import { errorResponse, withHeaders } from "./lib/httpSecurity";

type Method = "GET" | "POST" | "PUT" | "DELETE" | "PATCH";

/**
 * Registers a route built with `endpoint()` (so it carries an access class) plus its CORS preflight.
 * Domains export their routes as lists of these; http.ts only mounts them.
 */
export type RouteSpec = { path?: string; pathPrefix?: string; method: Method; handler: PublicHttpAction };

const METHODS = ["GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"] as const;

/**
 * The answer for anything no route matches: `{ error: NOT_FOUND }` (or METHOD_NOT_ALLOWED for a
 * known path) with the security headers, instead of the platform's plain-text 404.
 */
function unrouted(specs: RouteSpec[]): PublicHttpAction {
  const known = (path: string) => specs.some((s) => (s.path ? s.path === path : path.startsWith(s.pathPrefix!)));
  return tagAccess(
    httpActionGeneric(async (_ctx, req) => {
      const path = new URL(req.url).pathname;
      if (!known(path)) return withHeaders(errorResponse("NOT_FOUND", 404), {});
      const allow = [
        ...new Set(
          specs.filter((s) => (s.path ? s.path === path : path.startsWith(s.pathPrefix!))).map((s) => s.method),
        ),
      ];
      return withHeaders(errorResponse("METHOD_NOT_ALLOWED", 405), { Allow: [...allow, "OPTIONS"].join(", ") });
    }),
    "none",
  );
}

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
  // Longest prefix wins, so "/" only catches what nothing else does.
  const fallback = unrouted(specs);
  for (const method of METHODS) http.route({ pathPrefix: "/", method, handler: fallback });
}
