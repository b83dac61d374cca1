import { endpoint } from "./access/http";
import { jsonResponse } from "./lib/httpSecurity";

export const WARDEN_VERSION = "0.1.0";

/** GET /health — public, nothing beyond ok and version. */
export const health = endpoint("none", async () => jsonResponse({ ok: true, version: WARDEN_VERSION }));
