import { endpoint } from "../access/http";
import { jsonResponse } from "../lib/httpSecurity";
import { api } from "../_generated/api";

/** GET /auth/status — same answer as the auth/status:get query, for HTTP callers. */
export const status = endpoint("none", async (ctx) => jsonResponse(await ctx.runQuery(api.auth.status.get, {})));
