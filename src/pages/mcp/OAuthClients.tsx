/** MCP clients registered through OAuth, and their grants. */
import { api } from "../../../convex/_generated/api";
import { useLoad, useMutate } from "../../lib/data";
import { dateTime, relative } from "../../lib/format";
import { Badge, Card, DataTable, InlineError, Loading, RoleButton } from "../../ui/kit";

const REVOKED_WHY: Record<string, string> = {
  owner: "revoked by an owner",
  client: "revoked by the client",
  code_reuse: "revoked: authorization code replayed",
  refresh_reuse: "revoked: refresh token replayed",
};

export function OAuthClients() {
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
