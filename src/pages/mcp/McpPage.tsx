/** MCP: upstream servers the agent may call, and this workspace's own /mcp endpoint for MCP clients. */
import { api } from "../../../convex/_generated/api";
import { useLoad } from "../../lib/data";
import { relative } from "../../lib/format";
import { Link } from "../../lib/router";
import { Badge, Card, DataTable, EmptyState, ErrorState, Loading, PageHeader } from "../../ui/kit";
import { statusTone } from "../skills";
import { OAuthReturnNotice } from "./McpOAuth";
import { ClientTokens } from "./ClientTokens";
import { ConnectClients } from "./ConnectClients";
import { OAuthClients } from "./OAuthClients";
import { RegisterServer } from "./RegisterServer";
import { ServerActions } from "./ServerActions";
import { healthBadge } from "./health";

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
