/**
 * GET /oauth/upstream/callback — where an owner's browser comes back from an upstream MCP server's
 * authorization server (Connect in SyncBoard, mcp/outbound/upstreamOAuth.ts). Public by necessity (a
 * browser redirect carries no Warden credential): what authorizes it is the state, random, single
 * use, 10 minutes, bound to the owner, server and workspace that started it (upstreamAuth.ts:
 * consumeState, which also takes the per-IP budget). The code is exchanged at once (PKCE verifier,
 * resource = the server URL), then the browser goes to SyncBoard's MCP page with the outcome code
 * only; nothing else from the AS (error text, tokens) is echoed.
 */
import { internal } from "../../_generated/api";
import { endpoint } from "../../access/http";
import { jsonResponse } from "../../lib/httpSecurity";
import { syncBoardUrl } from "../../lib/oauth";
import type { RouteSpec } from "../../routes";
import { CALLBACK_PATH } from "./upstreamAuth";
import { sha256Hex } from "../../lib/tokens";

const NO_STORE = { "Cache-Control": "no-store", Pragma: "no-cache", "Referrer-Policy": "no-referrer" };

function outcome(result: { ok: true; serverName: string } | { ok: false; code: string }): Response {
  const board = syncBoardUrl(process.env);
  const q = result.ok
    ? `oauth=connected&server=${encodeURIComponent(result.serverName)}`
    : `oauth=failed&code=${encodeURIComponent(result.code)}`;
  if (!board) return jsonResponse(result.ok ? { ok: true } : { error: result.code }, result.ok ? 200 : 400, NO_STORE);
  return new Response(null, { status: 303, headers: { Location: `${board}/mcp?${q}`, ...NO_STORE } });
}

export const upstreamCallback = endpoint("none", async (ctx, { url, ip }) => {
  const p = url.searchParams;
  const state = p.get("state") ?? "";
  const code = p.get("code") ?? "";
  const iss = p.get("iss") ?? undefined;
  if (p.getAll("state").length > 1 || p.getAll("code").length > 1 || !state || state.length > 256)
    return outcome({ ok: false, code: "MCP_OAUTH_STATE_INVALID" });
  if (p.get("error") !== null || !code) {
    // The person declined at the AS (or it failed): the state is spent all the same.
    const spent = await ctx.runMutation(internal.mcp.outbound.upstreamAuth.consumeState, {
      stateHash: await sha256Hex(state),
      iss: iss?.slice(0, 2048),
      ip,
    });
    return outcome({ ok: false, code: spent.ok ? "MCP_OAUTH_DENIED" : spent.code });
  }
  const r = await ctx.runAction(internal.mcp.outbound.upstreamOAuth.exchangeCode, {
    state,
    code: code.slice(0, 4096),
    iss: iss?.slice(0, 2048),
    ip,
  });
  return outcome(r);
});

export const upstreamAuthRoutes: RouteSpec[] = [{ path: CALLBACK_PATH, method: "GET", handler: upstreamCallback }];
