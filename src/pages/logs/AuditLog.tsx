import { api } from "../../../convex/_generated/api";
import { dateTime } from "../../lib/format";
import { DataTable, EmptyState, Loading, PageHeader } from "../../ui/kit";
import { ExportButtons, FilterBar, More, useLogArgs, useLogPages, Who, type WhoInfo } from "../../ui/LogFilters";

type Entry = {
  id: string;
  at: number;
  actor: string;
  action: string;
  target: string;
  object: WhoInfo;
  before: unknown;
  after: unknown;
};

const FILTERS = [
  {
    param: "action",
    label: "Action",
    placeholder: "e.g. skill or skill.approve",
    hint: "An action name or its prefix (skill, mcp.token, owner…)",
  },
  { param: "actor", label: "Who", placeholder: "owner key" },
];
const MAP = { action: "action", actor: "actor" };

function short(v: unknown): string {
  const s = typeof v === "string" ? v : (JSON.stringify(v) ?? "");
  return s.length > 120 ? `${s.slice(0, 120)}…` : s;
}

/** An audit before/after object as "key: value" lines; keys whose value changed are bold. */
function Changes({ value, other }: { value: unknown; other: unknown }) {
  if (value === null || value === undefined) return <span className="muted">—</span>;
  if (typeof value !== "object" || Array.isArray(value)) return <span className="small">{short(value)}</span>;
  const o = other && typeof other === "object" ? (other as Record<string, unknown>) : null;
  const entries = Object.entries(value as Record<string, unknown>).slice(0, 12);
  const shown = (k: string, v: unknown) =>
    /At$/.test(k) && typeof v === "number" && v > 1e12 ? dateTime(v) : short(v);
  return (
    <ul className="change-list">
      {entries.map(([k, v]) => (
        <li key={k} className={o && short(o[k]) !== short(v) ? "changed" : undefined}>
          <span className="k">{k}:</span> {shown(k, v)}
        </li>
      ))}
    </ul>
  );
}

export function AuditLogPage() {
  const { args, active } = useLogArgs(MAP);
  const { results, status, loadMore } = useLogPages<Entry>(api.logs.explore.audit, args, active);
  return (
    <>
      <PageHeader
        title="Audit log"
        description="Every privileged change, who made it, and what it was before and after. Secret values are never recorded — only names. Admins and owners only."
      />
      <FilterBar
        filters={FILTERS}
        extra={
          <ExportButtons<Entry>
            name="audit-log"
            need="admin"
            query={api.logs.explore.audit}
            args={args}
            toRow={(a) => ({
              id: a.id,
              time: new Date(a.at).toISOString(),
              actor: a.actor,
              action: a.action,
              target: a.object.label,
              targetKey: a.target,
              before: a.before ?? null,
              after: a.after ?? null,
            })}
          />
        }
      />
      {status === "LoadingFirstPage" ? (
        <Loading />
      ) : results.length === 0 ? (
        <EmptyState title={active ? "No matching audit entries" : "No audit entries"}>
          {active
            ? "Change the filters or the time range."
            : "Approvals, role changes, limit edits and secret changes are recorded here."}
        </EmptyState>
      ) : (
        <DataTable columns={["When", "Who", "Action", "Target", "Before", "After"]} className="log-table">
          {results.map((a) => (
            <tr key={a.id}>
              <td className="nowrap small">{dateTime(a.at)}</td>
              <td>{a.actor}</td>
              <td>
                <code className="code-label">{a.action}</code>
              </td>
              <td className="small target">
                <Who who={a.object} />
              </td>
              <td>
                <Changes value={a.before} other={a.after} />
              </td>
              <td>
                <Changes value={a.after} other={a.before} />
              </td>
            </tr>
          ))}
        </DataTable>
      )}
      <More status={status} loadMore={loadMore} active={active} />
    </>
  );
}
