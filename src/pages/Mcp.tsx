import { useState, type FormEvent } from "react";
import { api } from "../../convex/_generated/api";
import type { Doc, Id } from "../../convex/_generated/dataModel";
import { useLoad, useMutate } from "../lib/data";
import { friendly } from "../lib/errors";
import { bytes, dateTime, relative } from "../lib/format";
import { Link } from "../lib/router";
import { useCan } from "../auth/role";
import { SecretsEditor } from "../ui/SecretsEditor";
import {
  Badge,
  Button,
  Card,
  CopyButton,
  DataTable,
  EmptyState,
  ErrorState,
  Field,
  InlineError,
  Input,
  KeyValue,
  Loading,
  Notice,
  PageHeader,
  RoleButton,
} from "../ui/kit";
import { statusTone } from "./skills";
import { McpApproveButton, McpToolApproveButton, RejectButton } from "../ui/ApprovalGate";
import { CodeExplained } from "../ui/Explain";
import { OAuthReturnNotice, UpstreamOAuthCard } from "./McpOAuth";

type Tool = Doc<"mcpTools">;

function healthBadge(h: string) {
  return <Badge tone={h === "healthy" ? "ok" : h === "unhealthy" ? "danger" : "neutral"}>{h}</Badge>;
}

export function McpPage() {
  const servers = useLoad(api.mcp.outbound.servers.list, {});
  return (
    <>
      <PageHeader
        title="MCP servers"
        description="External MCP servers give the agent more tools. A server is never contacted until an admin approves it, and a tool that changes is blocked until approved again."
      />
      <div className="stack">
        <OAuthReturnNotice />
        <Card title="External servers">
          {servers.status === "loading" ? <Loading /> : null}
          {servers.status === "error" ? <ErrorState error={servers.error} /> : null}
          {servers.status === "ok" && servers.data.length === 0 ? (
            <EmptyState title="No MCP servers yet">
              Register a server below (Streamable HTTP, https). It stays pending until an admin approves it.
            </EmptyState>
          ) : null}
          {servers.status === "ok" && servers.data.length > 0 ? (
            <DataTable columns={["Server", "Status", "Health"]} actions>
              {servers.data.map((s) => (
                <tr key={s._id}>
                  <td>
                    <Link to={`/mcp/${s._id}`}>
                      <strong>{s.name}</strong>
                    </Link>
                    <div className="small muted mono">{s.url}</div>
                    {s.status === "disabled" && s.disabledReason ? (
                      <div className="small field-error">Disabled: {s.disabledReason}</div>
                    ) : null}
                  </td>
                  <td>
                    <Badge tone={statusTone(s.status)}>{s.status}</Badge>
                  </td>
                  <td>
                    {healthBadge(s.healthStatus)}
                    <div className="small muted">
                      {s.healthLatencyMs !== undefined ? `${s.healthLatencyMs} ms · ` : ""}
                      {relative(s.healthCheckedAt)}
                    </div>
                  </td>
                  <td>
                    <ServerActions server={s} compact />
                  </td>
                </tr>
              ))}
            </DataTable>
          ) : null}
        </Card>
        <RegisterServer />
        <ConnectClients />
        <OAuthClients />
        <ClientTokens />
      </div>
    </>
  );
}

type ServerView = { _id: Id<"mcpServers">; name: string; status: string; enabled: boolean; disabledReason?: string };

function ServerActions({ server: s, compact }: { server: ServerView; compact?: boolean }) {
  const reject = useMutate(api.mcp.outbound.servers.reject);
  const disable = useMutate(api.mcp.outbound.servers.disable);
  const enable = useMutate(api.mcp.outbound.servers.enable);
  const refresh = useMutate(api.mcp.outbound.servers.refresh);
  const cls = compact ? "btn-small" : undefined;
  return (
    <div>
      <div className={compact ? "row nowrap-row" : "row"}>
        {s.status === "pending" || s.status === "rejected" ? <McpApproveButton server={s} className={cls} /> : null}
        {s.status === "pending" ? (
          <RejectButton
            name={s.name}
            className={cls}
            pending={reject.pending}
            what="Warden won't contact a rejected server. An admin can still approve it later."
            onConfirm={() => reject.run({ serverId: s._id })}
          />
        ) : null}
        {s.status === "approved" ? (
          <RoleButton
            need="admin"
            variant="danger"
            className={cls}
            pending={disable.pending}
            onClick={() => void disable.run({ serverId: s._id })}
          >
            Disable
          </RoleButton>
        ) : null}
        {s.status === "disabled" ? (
          <RoleButton
            need="owner"
            variant="primary"
            className={cls}
            pending={enable.pending}
            onClick={() => void enable.run({ serverId: s._id })}
          >
            Re-enable
          </RoleButton>
        ) : null}
        {!compact && (s.status === "approved" || s.status === "disabled") ? (
          <RoleButton
            need="admin"
            className={cls}
            pending={refresh.pending}
            onClick={() => void refresh.run({ serverId: s._id })}
          >
            Re-list tools
          </RoleButton>
        ) : null}
      </div>
      <InlineError error={reject.error ?? disable.error ?? enable.error ?? refresh.error} />
    </div>
  );
}

function toolState(t: Tool): { label: string; tone: "ok" | "warn" | "danger" | "neutral" } {
  if (t.status === "blocked" || (t.approvedHash !== undefined && t.approvedHash !== t.hash && t.status !== "denied"))
    return { label: "changed – re-approve", tone: "danger" };
  if (t.status === "approved") return { label: "approved", tone: "ok" };
  if (t.status === "denied") return { label: "denied", tone: "neutral" };
  return { label: "pending", tone: "warn" };
}

export function McpServerDetail({ id }: { id: string }) {
  const data = useLoad(api.mcp.outbound.servers.get, { serverId: id as Id<"mcpServers"> });
  const setTool = useMutate(api.mcp.outbound.servers.setToolStatus);
  const remove = useMutate(api.mcp.outbound.servers.remove);
  const canAdmin = useCan("admin");
  const secrets = useLoad(
    api.secrets.manage.listMcpServerSecrets,
    canAdmin ? { serverId: id as Id<"mcpServers"> } : "skip",
  );
  const setSecret = useMutate(api.secrets.manage.setMcpServerSecret);
  const delSecret = useMutate(api.secrets.manage.deleteMcpServerSecret);
  const [confirm, setConfirm] = useState(false);
  if (data.status === "loading") return <Loading />;
  if (data.status === "error")
    return (
      <>
        <PageHeader title="MCP server" />
        <ErrorState error={data.error} action={<Link to="/mcp">Back to MCP servers</Link>} />
      </>
    );
  const { server: s, tools } = data.data;
  const changed = tools.filter((t) => toolState(t).label.startsWith("changed"));
  return (
    <>
      <p className="small">
        <Link to="/mcp">← MCP servers</Link>
      </p>
      <PageHeader title={s.name} description={s.url} actions={<ServerActions server={s} />} />
      {s.status === "pending" ? (
        <Notice tone="warn" title="Waiting for approval">
          Warden won't contact this server until an admin approves it. Approval lists its tools and approves them; you
          can deny any tool afterwards.
        </Notice>
      ) : null}
      {s.status === "disabled" ? (
        <Notice tone="danger" title="This server is disabled">
          {s.disabledReason?.startsWith("health")
            ? `It was switched off automatically after failed health checks (${s.disabledReason}). `
            : s.disabledReason
              ? `Reason: ${s.disabledReason}. `
              : ""}
          No tool of it can be called. An owner can re-enable it.
        </Notice>
      ) : null}
      {changed.length > 0 ? (
        <Notice tone="danger" title="Tools changed since approval">
          {changed.map((t) => t.name).join(", ")} changed {changed.length > 1 ? "their" : "its"} description or input
          schema. {changed.length > 1 ? "They are" : "It is"} blocked until you review and approve again.
        </Notice>
      ) : null}
      <div className="stack">
        <Card title="Status and health">
          <KeyValue
            items={[
              ["Status", <Badge tone={statusTone(s.status)}>{s.status}</Badge>],
              [
                "Health",
                <>
                  {healthBadge(s.healthStatus)}{" "}
                  {s.consecutiveFailures > 0 ? (
                    <span className="small muted">{s.consecutiveFailures} failed check(s) in a row</span>
                  ) : null}
                </>,
              ],
              [
                "Last check",
                s.healthCheckedAt
                  ? `${dateTime(s.healthCheckedAt)}${s.healthLatencyMs !== undefined ? ` · ${s.healthLatencyMs} ms` : ""}`
                  : "not checked yet",
              ],
              ["Last error", s.lastErrorCode ? <CodeExplained code={s.lastErrorCode} /> : "—"],
              [
                "Rate limit",
                s.rateLimitPerMinute ? `${s.rateLimitPerMinute} calls per minute` : "workspace default (mcpPerServer)",
              ],
              ["Timeout", `${s.timeoutMs} ms`],
              ["Max output", bytes(s.maxOutputBytes)],
              ["Tools listed", s.toolsSyncedAt ? relative(s.toolsSyncedAt) : "not yet"],
            ]}
          />
        </Card>
        <Card title="Tools">
          {tools.length === 0 ? (
            <EmptyState title="No tools listed yet">
              {s.status === "approved"
                ? "Tools are listed right after approval and on every health check."
                : "Tools are listed once the server is approved."}
            </EmptyState>
          ) : (
            <DataTable columns={["Tool", "State"]} actions>
              {tools.map((t) => {
                const st = toolState(t);
                return (
                  <tr key={t._id}>
                    <td>
                      <strong className="mono">{t.name}</strong>
                      <div className="small muted">{t.description.slice(0, 300)}</div>
                      <details>
                        <summary className="small">Input schema</summary>
                        <pre className="code-block">{JSON.stringify(t.inputSchema, null, 2)}</pre>
                      </details>
                    </td>
                    <td>
                      <Badge tone={st.tone}>{st.label}</Badge>
                    </td>
                    <td>
                      <div className="row">
                        {st.label !== "approved" ? (
                          <McpToolApproveButton
                            tool={t}
                            serverName={s.name}
                            changed={st.label.startsWith("changed")}
                            className="btn-small"
                          />
                        ) : null}
                        {t.status !== "denied" ? (
                          <RoleButton
                            need="admin"
                            variant="danger"
                            className="btn-small"
                            onClick={() => void setTool.run({ toolId: t._id, status: "denied" })}
                            aria-label={`Deny tool ${t.name}`}
                          >
                            Deny
                          </RoleButton>
                        ) : null}
                      </div>
                    </td>
                  </tr>
                );
              })}
            </DataTable>
          )}
          <InlineError error={setTool.error} />
        </Card>
        <Card title="Authentication">
          {s.authHeaderName ? (
            <>
              <p className="small">
                Warden sends the secret <code>AUTH_HEADER</code> as the <code>{s.authHeaderName}</code> header to this
                server only. It is never forwarded anywhere else.
              </p>
              <SecretsEditor
                names={["AUTH_HEADER"]}
                list={secrets}
                onSet={(name, value) => setSecret.run({ serverId: s._id, name, value })}
                onDelete={(name) => delSecret.run({ serverId: s._id, name })}
              />
            </>
          ) : (
            <p className="muted mb0">
              This server is called without an auth header{canAdmin ? " (or with OAuth, below)" : ""}.
            </p>
          )}
        </Card>
        {canAdmin ? <UpstreamOAuthCard serverId={s._id} /> : null}
        <div className="row">
          {confirm ? (
            <>
              <span>Delete this server, its tools and its secrets?</span>
              <RoleButton
                need="admin"
                variant="danger"
                pending={remove.pending}
                onClick={() => void remove.run({ serverId: s._id }).then((r) => r.ok && history.back())}
              >
                Yes, delete
              </RoleButton>
              <Button variant="ghost" onClick={() => setConfirm(false)}>
                Cancel
              </Button>
            </>
          ) : (
            <RoleButton need="admin" variant="danger" onClick={() => setConfirm(true)}>
              Delete server
            </RoleButton>
          )}
          <InlineError error={remove.error} />
        </div>
      </div>
    </>
  );
}

function RegisterServer() {
  const register = useMutate(api.mcp.outbound.servers.register);
  const [name, setName] = useState("");
  const [url, setUrl] = useState("");
  const [authHeaderName, setAuthHeaderName] = useState("");
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const r = await register.run({
      name: name.trim(),
      url: url.trim(),
      authHeaderName: authHeaderName.trim() || undefined,
    });
    if (r.ok) {
      setName("");
      setUrl("");
      setAuthHeaderName("");
    }
  };
  const err = register.error;
  const urlCodes = [
    "URL_INVALID",
    "DOMAIN_INVALID",
    "PRIVATE_ADDRESS_BLOCKED",
    "SCHEME_NOT_ALLOWED",
    "PORT_NOT_ALLOWED",
    "USERINFO_NOT_ALLOWED",
    "DOMAIN_NOT_ALLOWED",
  ];
  return (
    <Card title="Register a server">
      <form onSubmit={submit} noValidate>
        <div className="form-row">
          <Field
            label="Name"
            hint="Lowercase, e.g. github"
            error={
              err?.field === "name" || err?.code === "NAME_TAKEN" ? (
                <>
                  {err.code === "NAME_TAKEN" ? friendly(err.code) : "Use 2–63 lowercase letters, digits, - or _."}{" "}
                  <code>{err.code}</code>
                </>
              ) : undefined
            }
          >
            {(p) => (
              <Input
                {...p}
                value={name}
                onChange={(e) => setName(e.target.value)}
                autoComplete="off"
                spellCheck={false}
              />
            )}
          </Field>
          <Field
            label="URL"
            hint="https://… (Streamable HTTP endpoint)"
            error={
              err && urlCodes.includes(err.code) ? (
                <>
                  {friendly(err.code)} <code>{err.code}</code>
                </>
              ) : undefined
            }
          >
            {(p) => (
              <Input
                {...p}
                value={url}
                onChange={(e) => setUrl(e.target.value)}
                placeholder="https://mcp.example.com/mcp"
                spellCheck={false}
              />
            )}
          </Field>
          <Field
            label="Auth header (optional)"
            hint="e.g. Authorization; you set its value as a secret"
            error={
              err?.field === "authHeaderName" ? (
                <>
                  That header name isn't allowed. <code>{err.code}</code>
                </>
              ) : undefined
            }
          >
            {(p) => (
              <Input
                {...p}
                value={authHeaderName}
                onChange={(e) => setAuthHeaderName(e.target.value)}
                spellCheck={false}
              />
            )}
          </Field>
        </div>
        {err &&
        !urlCodes.includes(err.code) &&
        err.code !== "NAME_TAKEN" &&
        !["name", "authHeaderName"].includes(err.field ?? "") ? (
          <InlineError error={err} />
        ) : null}
        <RoleButton
          need="admin"
          type="submit"
          variant="primary"
          pending={register.pending}
          disabled={!name.trim() || !url.trim()}
        >
          Register server
        </RoleButton>
      </form>
    </Card>
  );
}

function ClientTokens() {
  const tokens = useLoad(api.mcp.inbound.tokens.list, {});
  const mint = useMutate(api.mcp.inbound.tokens.mint);
  const revoke = useMutate(api.mcp.inbound.tokens.revoke);
  const choices = useLoad(api.mcp.inbound.tokens.upstreamChoices, {});
  const [name, setName] = useState("");
  const [scopes, setScopes] = useState("");
  const [picked, setPicked] = useState<Set<string>>(new Set());
  const [days, setDays] = useState("30");
  const [fresh, setFresh] = useState<{ token: string; name: string; audience: string } | null>(null);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const r = await mint.run({
      name: name.trim(),
      toolScopes: [...scopes.split(/[\s,]+/).filter(Boolean), ...picked],
      expiresInDays: Number(days),
    });
    if (r.ok) {
      setFresh({ token: r.value.token, name: name.trim(), audience: r.value.audience });
      setName("");
      setScopes("");
      setPicked(new Set());
    }
  };
  const err = mint.error;
  const fieldText: Record<string, string> = {
    name: "Use 1–64 letters, digits, spaces, . _ or -.",
    toolScopes: "Scopes are skill names (lowercase) or upstream tools of this workspace's servers, at most 100.",
    expiresInDays: "Choose 1 to 365 days.",
    WARDEN_PUBLIC_BASE_URL:
      "Set WARDEN_PUBLIC_BASE_URL on the server first: tokens are bound to this deployment's /mcp address.",
  };
  return (
    <Card title="Client tokens for Warden's own MCP server">
      <p className="small muted">
        MCP clients call Warden's /mcp endpoint with one token each. A token is scoped to the skills and upstream MCP
        tools you pick, expires, and can be revoked at any time. Upstream tools are called through the same checks as
        the agent's (approval, pinned definition, limits, egress, redaction, log); a tool that changes upstream
        disappears from the token until you approve it again.
      </p>
      {fresh ? (
        <Notice tone="warn" title={`Copy the token for “${fresh.name}” now — it won't be shown again`}>
          <div className="row">
            <code className="token-box grow" data-testid="minted-token">
              {fresh.token}
            </code>
            <CopyButton text={fresh.token} label="Copy token" />
          </div>
          <p className="small mt1">
            Audience: <code>{fresh.audience}</code>. Warden stores only a hash of it. If you lose it, revoke it and mint
            a new one.
          </p>
          <Button variant="secondary" onClick={() => setFresh(null)}>
            I've stored it safely
          </Button>
        </Notice>
      ) : null}
      {tokens.status === "loading" ? <Loading /> : null}
      {tokens.status === "error" ? <InlineError error={tokens.error} /> : null}
      {tokens.status === "ok" && tokens.data.length === 0 ? <p className="muted">No client tokens yet.</p> : null}
      {tokens.status === "ok" && tokens.data.length > 0 ? (
        <DataTable columns={["Name", "Token", "Scopes", "Expires", "Last used"]} actions className="mb2">
          {tokens.data.map((t) => {
            const expired = t.expiresAt <= Date.now();
            return (
              <tr key={t._id}>
                <td>{t.name}</td>
                <td>
                  <code>{t.prefix}…</code>
                </td>
                <td className="small">
                  {t.toolScopes.length ? t.toolScopes.join(", ") : <span className="muted">none</span>}
                </td>
                <td className="small nowrap">
                  {t.revoked ? (
                    <Badge tone="danger">revoked</Badge>
                  ) : expired ? (
                    <Badge tone="warn">expired</Badge>
                  ) : (
                    dateTime(t.expiresAt)
                  )}
                </td>
                <td className="small">{relative(t.lastUsedAt)}</td>
                <td>
                  {!t.revoked ? (
                    <RoleButton
                      need="owner"
                      variant="danger"
                      className="btn-small"
                      onClick={() => void revoke.run({ tokenId: t._id })}
                    >
                      Revoke
                    </RoleButton>
                  ) : null}
                </td>
              </tr>
            );
          })}
        </DataTable>
      ) : null}
      <InlineError error={revoke.error} />
      <h3>New client token</h3>
      <form onSubmit={submit} noValidate className="mt1">
        <div className="form-row">
          <Field
            label="Client name"
            error={
              err?.field === "name" ? (
                <>
                  {fieldText.name} <code>{err.code}</code>
                </>
              ) : undefined
            }
          >
            {(p) => (
              <Input {...p} value={name} onChange={(e) => setName(e.target.value)} placeholder="Claude Desktop" />
            )}
          </Field>
          <Field
            label="Skills it may call"
            hint="Skill names, separated by spaces or commas"
            error={
              err?.field === "toolScopes" ? (
                <>
                  {fieldText.toolScopes} <code>{err.code}</code>
                </>
              ) : undefined
            }
          >
            {(p) => (
              <Input
                {...p}
                className="input mono"
                value={scopes}
                onChange={(e) => setScopes(e.target.value)}
                placeholder="calculator weather_lookup"
              />
            )}
          </Field>
          <Field
            label="Expires in (days)"
            error={
              err?.field === "expiresInDays" ? (
                <>
                  {fieldText.expiresInDays} <code>{err.code}</code>
                </>
              ) : undefined
            }
          >
            {(p) => (
              <Input
                {...p}
                className="input num-input"
                inputMode="numeric"
                value={days}
                onChange={(e) => setDays(e.target.value)}
              />
            )}
          </Field>
        </div>
        <fieldset data-testid="upstream-scopes">
          <legend>Upstream MCP tools it may call</legend>
          {choices.status === "loading" ? <Loading /> : null}
          {choices.status === "error" ? <InlineError error={choices.error} /> : null}
          {choices.status === "ok" && choices.data.length === 0 ? (
            <p className="small muted mb0">No approved tools on an approved, enabled server yet.</p>
          ) : null}
          {choices.status === "ok"
            ? choices.data.map((c) => (
                <label key={c.scope} className="checkbox">
                  <input
                    type="checkbox"
                    checked={picked.has(c.scope)}
                    onChange={(e) => {
                      const next = new Set(picked);
                      if (e.target.checked) next.add(c.scope);
                      else next.delete(c.scope);
                      setPicked(next);
                    }}
                  />
                  <code>{c.exposedName}</code> <span className="small muted">— {c.description.slice(0, 80)}</span>
                </label>
              ))
            : null}
        </fieldset>
        {err && !["name", "toolScopes", "expiresInDays"].includes(err.field ?? "") ? (
          err.field && fieldText[err.field] ? (
            <p className="inline-error" role="alert">
              {fieldText[err.field]} <code>{err.code}</code>
            </p>
          ) : (
            <InlineError error={err} />
          )
        ) : null}
        <RoleButton need="owner" type="submit" variant="primary" pending={mint.pending} disabled={!name.trim()}>
          Mint token
        </RoleButton>
      </form>
    </Card>
  );
}

/** Copyable configuration for the usual MCP clients (README: "Connecting MCP clients"). */
export function connectSnippets(mcpUrl: string) {
  return [
    {
      id: "claude-ai",
      title: "claude.ai (and Claude Desktop / mobile)",
      how: "Settings → Connectors → Add custom connector, paste the URL, then Connect: you land on this SyncBoard to approve. The URL must be reachable from the internet over https.",
      text: mcpUrl,
    },
    {
      id: "claude-code",
      title: "Claude Code",
      how: "Run once, then /mcp in Claude Code → warden → Authenticate (opens the consent page).",
      text: `claude mcp add --transport http warden ${mcpUrl}`,
    },
    {
      id: "vscode",
      title: "VS Code (.vscode/mcp.json)",
      how: "Start the server from the file or the MCP view; VS Code opens the consent page.",
      text: JSON.stringify({ servers: { warden: { type: "http", url: mcpUrl } } }, null, 2),
    },
    {
      id: "cursor",
      title: "Cursor (~/.cursor/mcp.json)",
      how: "With a static client token (below) in the WARDEN_MCP_TOKEN environment variable. Cursor's own OAuth callback may use a custom scheme, which Warden's registration refuses (https or loopback only).",
      text: JSON.stringify(
        { mcpServers: { warden: { url: mcpUrl, headers: { Authorization: "Bearer ${env:WARDEN_MCP_TOKEN}" } } } },
        null,
        2,
      ),
    },
  ];
}

function ConnectClients() {
  const info = useLoad(api.mcp.inbound.oauth.connectInfo, {});
  return (
    <Card title="Connect an MCP client">
      <p className="small muted">
        Clients that speak OAuth need only the URL: they register themselves, send you to a consent page here where an
        owner picks the tools, and get short-lived tokens bound to this server. Clients that take a header use a static
        client token instead.
      </p>
      {info.status === "loading" ? <Loading /> : null}
      {info.status === "error" ? <InlineError error={info.error} /> : null}
      {info.status === "ok" && !info.data.mcpUrl ? (
        <Notice tone="warn">Set WARDEN_PUBLIC_BASE_URL on the server first.</Notice>
      ) : null}
      {info.status === "ok" && info.data.mcpUrl
        ? connectSnippets(info.data.mcpUrl).map((s) => (
            <div key={s.id} className="mb2" data-testid={`snippet-${s.id}`}>
              <h3>{s.title}</h3>
              <p className="small muted">{s.how}</p>
              <div className="row">
                <pre className="token-box grow mono small">{s.text}</pre>
                <CopyButton text={s.text} label={`Copy ${s.title}`} />
              </div>
            </div>
          ))
        : null}
    </Card>
  );
}

const REVOKED_WHY: Record<string, string> = {
  owner: "revoked by an owner",
  client: "revoked by the client",
  code_reuse: "revoked: authorization code replayed",
  refresh_reuse: "revoked: refresh token replayed",
};

function OAuthClients() {
  const grants = useLoad(api.mcp.inbound.oauth.listGrants, {});
  const revoke = useMutate(api.mcp.inbound.oauth.revokeGrantByOwner);
  return (
    <Card title="OAuth clients">
      <p className="small muted">
        MCP clients an owner approved on the consent page. Revoking ends every token of the client's grant and its open
        sessions at once.
      </p>
      {grants.status === "loading" ? <Loading /> : null}
      {grants.status === "error" ? <InlineError error={grants.error} /> : null}
      {grants.status === "ok" && grants.data.length === 0 ? (
        <p className="muted">No OAuth clients approved yet.</p>
      ) : null}
      {grants.status === "ok" && grants.data.length > 0 ? (
        <DataTable columns={["Client", "Scopes", "Approved", "Last used", "State"]} actions>
          {grants.data.map((g) => (
            <tr key={g._id}>
              <td>
                <strong>{g.clientName}</strong>
                <div className="small muted mono">{g.redirectOrigins.join(", ")}</div>
              </td>
              <td className="small">
                {g.toolScopes.length ? g.toolScopes.join(", ") : <span className="muted">none</span>}
              </td>
              <td className="small">
                {dateTime(g.createdAt)}
                {g.approvedBy ? <div className="muted">by {g.approvedBy}</div> : null}
              </td>
              <td className="small">{relative(g.lastUsedAt)}</td>
              <td className="small">
                {g.revoked ? (
                  <Badge tone="danger">{REVOKED_WHY[g.revokedReason ?? "owner"] ?? "revoked"}</Badge>
                ) : g.expiresAt <= Date.now() ? (
                  <Badge tone="warn">expired</Badge>
                ) : (
                  <Badge tone="ok">active</Badge>
                )}
              </td>
              <td>
                {!g.revoked ? (
                  <RoleButton
                    need="owner"
                    variant="danger"
                    className="btn-small"
                    onClick={() => void revoke.run({ grantId: g._id })}
                  >
                    Revoke
                  </RoleButton>
                ) : null}
              </td>
            </tr>
          ))}
        </DataTable>
      ) : null}
      <InlineError error={revoke.error} />
    </Card>
  );
}
