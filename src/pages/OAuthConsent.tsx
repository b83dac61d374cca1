/**
 * The OAuth consent page for Warden's own /mcp: an MCP client asked for access (GET /oauth/authorize
 * sent the person here). A signed-in owner sees who asks and where the answer goes, picks this
 * workspace's tool scopes (skills and upstream MCP tools, like the token form) and approves or
 * denies. The server returns the redirect URI with the code (or the refusal); the page goes there.
 */
import { useState } from "react";
import { api } from "../../convex/_generated/api";
import { useLoad, useMutate } from "../lib/data";
import { useSearch } from "../lib/router";
import { dateTime } from "../lib/format";
import { useCan } from "../auth/role";
import { Badge, Button, Card, ErrorState, InlineError, KeyValue, Loading, Notice, PageHeader } from "../ui/kit";

const INVALID_TEXT: Record<string, string> = {
  unknown: "This authorization request is unknown. Start the connection again from your MCP client.",
  expired:
    "This authorization request expired (they last 10 minutes). Start the connection again from your MCP client.",
  decided: "This authorization request was already approved or denied.",
};

export function OAuthConsentPage() {
  const requestId = useSearch().get("request") ?? "";
  const isOwner = useCan("owner");
  const view = useLoad(api.mcp.inbound.oauth.consentRequest, requestId && isOwner ? { requestId } : "skip");
  const approve = useMutate(api.mcp.inbound.oauth.approve);
  const deny = useMutate(api.mcp.inbound.oauth.deny);
  const [picked, setPicked] = useState<Set<string>>(new Set());
  const [leaving, setLeaving] = useState(false);

  const header = (
    <PageHeader
      title="Authorize an MCP client"
      description="An MCP client asks to use this workspace's tools through Warden's /mcp endpoint."
    />
  );
  if (!isOwner) {
    return (
      <>
        {header}
        <Notice tone="warn" title="Only an owner can authorize a client">
          Ask an owner of this workspace to open this link, or switch to a workspace where you are an owner.
        </Notice>
      </>
    );
  }
  if (!requestId) {
    return (
      <>
        {header}
        <Notice tone="warn">
          This page needs an authorization request. Start the connection from your MCP client.
        </Notice>
      </>
    );
  }
  if (view.status === "loading")
    return (
      <>
        {header}
        <Loading />
      </>
    );
  if (view.status === "error")
    return (
      <>
        {header}
        <ErrorState error={view.error} />
      </>
    );
  const v = view.data;
  if ("invalid" in v && v.invalid) {
    return (
      <>
        {header}
        <Notice tone="warn" title="Nothing to authorize">
          {INVALID_TEXT[v.invalid]}
        </Notice>
      </>
    );
  }
  const toggle = (scope: string, on: boolean) => {
    const next = new Set(picked);
    if (on) next.add(scope);
    else next.delete(scope);
    setPicked(next);
  };
  const go = (url: string) => {
    setLeaving(true);
    window.location.assign(url);
  };
  const onApprove = async () => {
    const r = await approve.run({ requestId, toolScopes: [...picked] });
    if (r.ok) go(r.value.redirectTo);
  };
  const onDeny = async () => {
    const r = await deny.run({ requestId });
    if (r.ok) go(r.value.redirectTo);
  };
  return (
    <>
      {header}
      <div className="stack">
        <Card title={`“${v.clientName}” wants access to ${v.workspaceName}`}>
          <KeyValue
            items={[
              [
                "Client",
                <span key="c">
                  <strong>{v.clientName}</strong> <code className="small">{v.clientId.slice(0, 16)}…</code>{" "}
                  <span className="small muted">(the name is the client's own claim)</span>
                </span>,
              ],
              [
                "Sends the answer to",
                <span key="r">
                  <code>{v.redirectUri}</code>{" "}
                  {v.loopback ? (
                    <Badge tone="accent">a program on this computer</Badge>
                  ) : (
                    <Badge tone="warn">{v.redirectOrigin}</Badge>
                  )}
                </span>,
              ],
              ["For", <code key="res">{v.resource}</code>],
              ["Request expires", dateTime(v.expiresAt)],
            ]}
          />
          <p className="small muted mt1">
            Approve only if you started this connection yourself. The client gets short-lived tokens for the tools you
            pick below, nothing else; every call goes through the same checks as the agent's. You can revoke it any time
            under MCP servers → OAuth clients.
          </p>
        </Card>
        <Card title="Tools it may call">
          <fieldset data-testid="consent-skills">
            <legend>Skills</legend>
            {v.skills.length === 0 ? <p className="small muted mb0">No approved skills in this workspace.</p> : null}
            {v.skills.map((s) => (
              <label key={s.name} className="checkbox">
                <input
                  type="checkbox"
                  checked={picked.has(s.name)}
                  onChange={(e) => toggle(s.name, e.target.checked)}
                />
                <code>{s.name}</code> <span className="small muted">— {s.description.slice(0, 80)}</span>
              </label>
            ))}
          </fieldset>
          <fieldset data-testid="consent-upstream">
            <legend>Upstream MCP tools</legend>
            {v.upstream.length === 0 ? (
              <p className="small muted mb0">No approved tools on an approved, enabled server.</p>
            ) : null}
            {v.upstream.map((u) => (
              <label key={u.scope} className="checkbox">
                <input
                  type="checkbox"
                  checked={picked.has(u.scope)}
                  onChange={(e) => toggle(u.scope, e.target.checked)}
                />
                <code>{u.exposedName}</code> <span className="small muted">— {u.description.slice(0, 80)}</span>
              </label>
            ))}
          </fieldset>
          <InlineError error={approve.error ?? deny.error} />
          <div className="row mt1">
            <Button
              variant="primary"
              onClick={() => void onApprove()}
              pending={approve.pending || leaving}
              disabled={deny.pending || leaving}
            >
              Approve
            </Button>
            <Button
              variant="secondary"
              onClick={() => void onDeny()}
              pending={deny.pending}
              disabled={approve.pending || leaving}
            >
              Deny
            </Button>
          </div>
        </Card>
      </div>
    </>
  );
}
