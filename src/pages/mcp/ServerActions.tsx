/** Approve, reject, enable and disable an upstream MCP server. */
import { api } from "../../../convex/_generated/api";
import type { Id } from "../../../convex/_generated/dataModel";
import { useMutate } from "../../lib/data";
import { InlineError, RoleButton } from "../../ui/kit";
import { McpApproveButton, RejectButton } from "../../ui/ApprovalGate";

type ServerView = { _id: Id<"mcpServers">; name: string; status: string; enabled: boolean; disabledReason?: string };

export function ServerActions({ server: s, compact }: { server: ServerView; compact?: boolean }) {
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
