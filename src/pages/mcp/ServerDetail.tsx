/** One upstream MCP server: its state, credentials, tools and their approvals. */
import { useState } from "react";
import { api } from "../../../convex/_generated/api";
import type { Doc, Id } from "../../../convex/_generated/dataModel";
import { useLoad, useMutate } from "../../lib/data";
import { bytes, dateTime, relative } from "../../lib/format";
import { Link } from "../../lib/router";
import { useCan } from "../../auth/role";
import { SecretsEditor } from "../../ui/SecretsEditor";
import {
  Badge,
  Button,
  Card,
  DataTable,
  EmptyState,
  ErrorState,
  InlineError,
  KeyValue,
  Loading,
  Notice,
  PageHeader,
  RoleButton,
} from "../../ui/kit";
import { statusTone } from "../skills";
import { McpToolApproveButton } from "../../ui/ApprovalGate";
import { CodeExplained } from "../../ui/Explain";
import { UpstreamOAuthCard } from "./McpOAuth";
import { ServerActions } from "./ServerActions";
import { healthBadge } from "./health";

type Tool = Doc<"mcpTools">;

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
