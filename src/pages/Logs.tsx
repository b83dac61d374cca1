import { useConvex, usePaginatedQuery } from "convex/react";
import { api } from "../../convex/_generated/api";
import { CODES } from "../../convex/lib/codes";
import { bytes, dateTime } from "../lib/format";
import { navigate, useSearch } from "../lib/router";
import { Badge, Button, DataTable, EmptyState, InlineError, Loading, PageHeader, Preview, RoleButton, Select } from "../ui/kit";
import { useMemo, useState } from "react";
import { McpAppFrame } from "../mcp/McpAppFrame";
import { uiResourcesFromPreview } from "../mcp/uiResource";
import { allPages, saveFile } from "../lib/download";
import { errorInfo, type ErrorInfo } from "../lib/errors";

const PAGE = 25;

function More({ status, loadMore }: { status: string; loadMore: (n: number) => void }) {
  if (status === "CanLoadMore")
    return (
      <div className="row mt2">
        <Button onClick={() => loadMore(PAGE)}>Load older entries</Button>
      </div>
    );
  if (status === "LoadingMore") return <Loading label="Loading older entries…" />;
  return null;
}

export function InvocationsPage() {
  const search = useSearch();
  const deniedOnly = search.get("denied") === "1";
  const { results, status, loadMore } = usePaginatedQuery(api.logs.browse.invocations, deniedOnly ? { deniedOnly: true } : {}, { initialNumItems: PAGE });
  return (
    <>
      <PageHeader title="Invocation log" description="Every skill and MCP tool call the checker saw, allowed or denied. Previews are redacted and truncated on the server before they are stored." />
      <div className="tabs" role="group" aria-label="Filter">
        <button type="button" aria-pressed={!deniedOnly} onClick={() => navigate("/logs/invocations", { replace: true })}>
          All
        </button>
        <button type="button" aria-pressed={deniedOnly} onClick={() => navigate("/logs/invocations?denied=1", { replace: true })}>
          Denied only
        </button>
      </div>
      {status === "LoadingFirstPage" ? (
        <Loading />
      ) : results.length === 0 ? (
        <EmptyState title={deniedOnly ? "No denied invocations" : "No invocations yet"}>
          {deniedOnly ? "Nothing has been refused." : "When the agent or an MCP client calls a skill or tool, each call is logged here with its outcome code."}
        </EmptyState>
      ) : (
        <DataTable columns={["When", "Target", "Caller", "Outcome", { label: "Time", numeric: true }, "Input (redacted)", "Output (redacted)"]}>
          {results.map((r) => (
            <InvocationRow key={r.id} r={r} />
          ))}
        </DataTable>
      )}
      <More status={status} loadMore={loadMore} />
    </>
  );
}

type Invocation = {
  id: string;
  at: number;
  targetKind: string;
  targetName: string;
  callerKind: string;
  code: string;
  allowed: boolean;
  durationMs: number;
  inputBytes: number;
  outputBytes: number;
  inputPreview: string;
  outputPreview: string;
  hasStoredOutput: boolean;
};

/** A log row; an MCP tool result carrying an MCP Apps UI gets a "Show app" toggle and a full-width row for the sandboxed frame. */
function InvocationRow({ r }: { r: Invocation }) {
  const [open, setOpen] = useState(false);
  const ui = useMemo(() => uiResourcesFromPreview(r.outputPreview), [r.outputPreview]);
  return (
    <>
                <tr>
                  <td className="nowrap small">{dateTime(r.at)}</td>
                  <td>
                    {r.targetName} <span className="small muted">({r.targetKind})</span>
                  </td>
                  <td className="small">{r.callerKind}</td>
                  <td>{r.allowed ? <Badge tone="ok">{r.code}</Badge> : <Badge tone="danger">{r.code}</Badge>}</td>
                  <td className="num small nowrap">{r.durationMs} ms</td>
                  <td>
                    <Preview text={r.inputPreview} />
                    <div className="small muted">{bytes(r.inputBytes)}</div>
                  </td>
                  <td>
                    {ui.length ? (
                      <div className="row">
                        <Button className="btn-small" aria-expanded={open} onClick={() => setOpen(!open)}>
                          {open ? "Hide app" : "Show app"}
                        </Button>
                        <span className="small muted mono">{ui[0].uri}</span>
                      </div>
                    ) : (
                      <Preview text={r.outputPreview} />
                    )}
                    <div className="small muted">
                      {bytes(r.outputBytes)}
                      {r.hasStoredOutput ? " · full output in file storage" : ""}
                    </div>
                  </td>
                </tr>
                {open && ui.length ? (
                  <tr className="app-row">
                    <td colSpan={7}>
                      <p className="small muted mb0">
                        MCP App from <strong>{r.targetName}</strong>, shown in a sandboxed frame: it can't reach this page, your session or the network.
                      </p>
                      <McpAppFrame resource={ui[0]} title={`App from ${r.targetName}`} />
                    </td>
                  </tr>
                ) : null}
    </>
  );
}

export function SecurityEventsPage() {
  const search = useSearch();
  const code = search.get("code") ?? "";
  const { results, status, loadMore } = usePaginatedQuery(api.logs.browse.securityEvents, code ? { code } : {}, { initialNumItems: PAGE });
  return (
    <>
      <PageHeader title="Security events" description="Everything the server refused: bad signatures, blocked domains, rate-limit hits, sign-in failures." />
      <div className="row mb2">
        <label htmlFor="code-filter">Code</label>
        <Select id="code-filter" className="input code-select" value={code} onChange={(e) => navigate(e.target.value ? `/logs/security?code=${encodeURIComponent(e.target.value)}` : "/logs/security", { replace: true })}>
          <option value="">All codes</option>
          {[...new Set(CODES)].sort().map((c) => (
            <option key={c} value={c}>
              {c}
            </option>
          ))}
        </Select>
      </div>
      {status === "LoadingFirstPage" ? (
        <Loading />
      ) : results.length === 0 ? (
        <EmptyState title={code ? `No ${code} events` : "No security events"}>{code ? "Choose another code or show all." : "Nothing has been refused yet."}</EmptyState>
      ) : (
        <DataTable columns={["When", "Code", "Category", "Detail"]}>
          {results.map((e) => (
            <tr key={e.id}>
              <td className="nowrap small">{dateTime(e.at)}</td>
              <td>
                <Badge tone="danger">{e.code}</Badge>
              </td>
              <td className="small">{e.category}</td>
              <td>
                <Preview text={e.detail} />
              </td>
            </tr>
          ))}
        </DataTable>
      )}
      <More status={status} loadMore={loadMore} />
    </>
  );
}

function short(v: unknown): string {
  const s = typeof v === "string" ? v : JSON.stringify(v) ?? "";
  return s.length > 120 ? `${s.slice(0, 120)}…` : s;
}

/** An audit before/after object as "key: value" lines; keys whose value changed are bold. */
function Changes({ value, other }: { value: unknown; other: unknown }) {
  if (value === null || value === undefined) return <span className="muted">—</span>;
  if (typeof value !== "object" || Array.isArray(value)) return <span className="small">{short(value)}</span>;
  const o = other && typeof other === "object" ? (other as Record<string, unknown>) : null;
  const entries = Object.entries(value as Record<string, unknown>).slice(0, 12);
  const shown = (k: string, v: unknown) => (/At$/.test(k) && typeof v === "number" && v > 1e12 ? dateTime(v) : short(v));
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

/** Downloads the whole audit log, page by page (admins and owners). */
function AuditExport() {
  const convex = useConvex();
  const [pending, setPending] = useState<"jsonl" | "csv" | null>(null);
  const [error, setError] = useState<ErrorInfo | null>(null);
  const run = async (format: "jsonl" | "csv") => {
    setPending(format);
    setError(null);
    try {
      const pages = await allPages((cursor) => convex.query(api.logs.browse.auditExport, { format, paginationOpts: { numItems: 100, cursor } }));
      const lines = pages.flatMap((p) => (p.header ? [p.header, ...p.page] : p.page));
      const day = new Date().toISOString().slice(0, 10);
      saveFile(`audit-log-${day}.${format}`, lines.join("\n") + "\n", format === "csv" ? "text/csv" : "application/x-ndjson");
    } catch (e) {
      setError(errorInfo(e));
    } finally {
      setPending(null);
    }
  };
  return (
    <div className="row">
      <RoleButton need="admin" pending={pending === "jsonl"} disabled={pending !== null} onClick={() => void run("jsonl")}>
        Export JSON lines
      </RoleButton>
      <RoleButton need="admin" pending={pending === "csv"} disabled={pending !== null} onClick={() => void run("csv")}>
        Export CSV
      </RoleButton>
      <InlineError error={error} />
    </div>
  );
}

export function AuditPage() {
  const { results, status, loadMore } = usePaginatedQuery(api.logs.browse.audit, {}, { initialNumItems: PAGE });
  return (
    <>
      <PageHeader
        title="Audit log"
        description="Every privileged change, who made it, and what it was before and after. Secret values are never recorded — only names. Kept 365 days unless changed under Retention."
        actions={<AuditExport />}
      />
      {status === "LoadingFirstPage" ? (
        <Loading />
      ) : results.length === 0 ? (
        <EmptyState title="No audit entries">Approvals, role changes, limit edits and secret changes are recorded here.</EmptyState>
      ) : (
        <DataTable columns={["When", "Who", "Action", "Target", "Before", "After"]}>
          {results.map((a) => (
            <tr key={a.id}>
              <td className="nowrap small">{dateTime(a.at)}</td>
              <td>{a.actor}</td>
              <td>
                <code>{a.action}</code>
              </td>
              <td className="small target">{a.target || "—"}</td>
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
      <More status={status} loadMore={loadMore} />
    </>
  );
}
