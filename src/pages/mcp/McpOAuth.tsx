/**
 * SyncBoard: OAuth to an upstream MCP server (convex/mcp/outbound/upstreamAuth.ts, upstreamOAuth.ts).
 * Shows status, issuer and expiry only — tokens are never sent to the browser. Connect asks the
 * server for the authorization server's page (PKCE, state bound to this owner, server and
 * workspace) and sends the browser there; it comes back through /oauth/upstream/callback to
 * /mcp?oauth=connected|failed.
 */
import { useState } from "react";
import { api } from "../../../convex/_generated/api";
import type { Id } from "../../../convex/_generated/dataModel";
import { useAct, useLoad, useMutate } from "../../lib/data";
import { friendly } from "../../lib/errors";
import { dateTime } from "../../lib/format";
import { Badge, Card, Field, InlineError, Input, KeyValue, Notice, RoleButton } from "../../ui/kit";

const TONE: Record<string, "ok" | "warn" | "danger" | "neutral"> = {
  connected: "ok",
  not_connected: "warn",
  revoked: "danger",
};

/** The outcome the callback redirect carried (?oauth=connected|failed&code=…), if any. */
export function OAuthReturnNotice() {
  const q = new URLSearchParams(window.location.search);
  const outcome = q.get("oauth");
  if (outcome === "connected")
    return (
      <Notice tone="ok">Connected {q.get("server") ?? "the MCP server"} with OAuth. Its tools are being listed.</Notice>
    );
  if (outcome === "failed")
    return <Notice tone="danger">OAuth connection failed: {friendly(q.get("code") ?? "UPSTREAM_ERROR")}</Notice>;
  return null;
}

export function UpstreamOAuthCard({ serverId }: { serverId: Id<"mcpServers"> }) {
  const status = useLoad(api.mcp.outbound.upstreamAuth.status, { serverId });
  const configure = useMutate(api.mcp.outbound.upstreamAuth.configure);
  const disconnect = useMutate(api.mcp.outbound.upstreamAuth.disconnect);
  const connect = useAct(api.mcp.outbound.upstreamOAuth.connect);
  const [clientId, setClientId] = useState("");
  const [scope, setScope] = useState("");
  if (status.status !== "ok") return null;
  const s = status.data;
  const onConnect = async () => {
    const r = await connect.run({ serverId });
    if (r.ok) window.location.assign(r.value.authorizationUrl);
  };
  return (
    <Card title="OAuth">
      {!s.configured ? (
        <>
          <p className="small">
            For a server that requires OAuth 2.1. Warden discovers its authorization server and registers itself, unless
            you enter a pre-registered client id.
          </p>
          <Field label="Pre-registered client id (optional)">
            {(p) => <Input {...p} value={clientId} onChange={(e) => setClientId(e.target.value)} spellCheck={false} />}
          </Field>
          <Field label="Scope (optional)">
            {(p) => <Input {...p} value={scope} onChange={(e) => setScope(e.target.value)} spellCheck={false} />}
          </Field>
          <RoleButton
            need="admin"
            pending={configure.pending}
            onClick={() =>
              void configure.run({ serverId, clientId: clientId.trim() || undefined, scope: scope.trim() || undefined })
            }
          >
            Use OAuth
          </RoleButton>
          <InlineError error={configure.error} />
        </>
      ) : (
        <>
          <KeyValue
            items={[
              [
                "Status",
                <Badge key="s" tone={TONE[s.status ?? ""] ?? "neutral"}>
                  {(s.status ?? "").replace("_", " ")}
                </Badge>,
              ],
              ["Authorization server", s.issuer ?? "not discovered yet"],
              [
                "Client",
                s.preRegisteredClientId
                  ? "pre-registered"
                  : s.clientRegistered
                    ? "registered by Warden"
                    : "registered at Connect",
              ],
              ["Access token expires", s.accessExpiresAt ? dateTime(s.accessExpiresAt) : "—"],
              ["Connected", s.connectedAt ? dateTime(s.connectedAt) : "—"],
            ]}
          />
          <p className="small">
            Tokens are stored encrypted, never shown, and sent only to this server (the refresh token only to its
            authorization server).
          </p>
          <div className="row">
            <RoleButton need="admin" pending={connect.pending} onClick={() => void onConnect()}>
              {s.status === "connected" ? "Reconnect" : "Connect"}
            </RoleButton>
            {s.status === "connected" ? (
              <RoleButton
                need="admin"
                variant="danger"
                pending={disconnect.pending}
                onClick={() => void disconnect.run({ serverId })}
              >
                Disconnect
              </RoleButton>
            ) : null}
          </div>
          <InlineError error={connect.error ?? disconnect.error} />
        </>
      )}
    </Card>
  );
}
