import { useMemo, useState } from "react";
import { api } from "../../../convex/_generated/api";
import { bytes, dateTime } from "../../lib/format";
import { navigate, usePath, useSearch } from "../../lib/router";
import { Button, DataTable, EmptyState, Loading, PageHeader, Preview } from "../../ui/kit";
import { McpAppFrame } from "../../mcp/McpAppFrame";
import { ExplainCode } from "../../ui/Explain";
import { uiResourcesFromPreview } from "../../mcp/uiResource";
import {
  CODE_GROUP_FILTER,
  CodeBadge,
  ExportButtons,
  FilterBar,
  More,
  SourceAction,
  useLogArgs,
  useLogPages,
  Who,
  type WhoInfo,
} from "../../ui/LogFilters";

type Invocation = {
  id: string;
  at: number;
  targetKind: string;
  targetName: string;
  target: WhoInfo;
  callerKind: string;
  caller: WhoInfo;
  code: string;
  codeGroup: string;
  allowed: boolean;
  durationMs: number;
  inputBytes: number;
  outputBytes: number;
  inputPreview: string;
  outputPreview: string;
  hasStoredOutput: boolean;
};

const FILTERS = [
  CODE_GROUP_FILTER,
  { param: "code", label: "Code", placeholder: "e.g. DOMAIN_NOT_ALLOWED" },
  {
    param: "target",
    label: "Target",
    placeholder: "skill or server/tool",
    hint: "The exact skill name or MCP server/tool",
  },
  {
    param: "caller",
    label: "Caller",
    placeholder: "e.g. mcp-client",
    hint: "A caller kind (agent, mcp-client, channel-webhook) or kind:id from a row link",
  },
];
const MAP = { group: "codeGroup", code: "code", target: "target", caller: "caller", denied: "deniedOnly" };

export function InvocationLogPage() {
  const search = useSearch();
  const path = usePath();
  const deniedOnly = search.get("denied") === "1";
  const { args, active } = useLogArgs(MAP, { booleans: ["denied"] });
  const { results, status, loadMore } = useLogPages<Invocation>(api.logs.explore.invocations, args, active);
  const toggle = (denied: boolean) => {
    const next = new URLSearchParams(search);
    if (denied) next.set("denied", "1");
    else next.delete("denied");
    const s = next.toString();
    navigate(s ? `${path}?${s}` : path, { replace: true });
  };
  return (
    <>
      <PageHeader
        title="Invocation log"
        description="Every skill and MCP tool call the checker saw, allowed or denied, with who asked for it. Previews are redacted and truncated on the server before they are stored."
      />
      <div className="tabs" role="group" aria-label="Outcome">
        <button type="button" aria-pressed={!deniedOnly} onClick={() => toggle(false)}>
          All
        </button>
        <button type="button" aria-pressed={deniedOnly} onClick={() => toggle(true)}>
          Denied only
        </button>
      </div>
      <FilterBar
        filters={FILTERS}
        extra={
          <ExportButtons<Invocation>
            name="invocations"
            query={api.logs.explore.invocations}
            args={args}
            toRow={(r) => ({
              id: r.id,
              time: new Date(r.at).toISOString(),
              target: r.targetName,
              targetKind: r.targetKind,
              caller: r.caller.label,
              callerKey: r.caller.key ?? "",
              code: r.code,
              allowed: r.allowed,
              durationMs: r.durationMs,
              inputBytes: r.inputBytes,
              outputBytes: r.outputBytes,
              inputPreview: r.inputPreview,
              outputPreview: r.outputPreview,
            })}
          />
        }
      />
      {status === "LoadingFirstPage" ? (
        <Loading />
      ) : results.length === 0 ? (
        <EmptyState title={active ? "No matching invocations" : "No invocations yet"}>
          {active
            ? status === "CanLoadMore"
              ? "Nothing matches in the newest entries; search older ones below."
              : "Change the filters or the time range."
            : "When the agent or an MCP client calls a skill or tool, each call is logged here with its outcome code."}
        </EmptyState>
      ) : (
        <DataTable
          columns={[
            "When",
            "Target",
            "Caller",
            "Outcome",
            { label: "Time", numeric: true },
            "Input (redacted)",
            "Output (redacted)",
          ]}
          className="log-table"
        >
          {results.map((r) => (
            <InvocationRow key={r.id} r={r} />
          ))}
        </DataTable>
      )}
      <More status={status} loadMore={loadMore} active={active} />
    </>
  );
}

/** A log row; an MCP tool result carrying an MCP Apps UI gets a "Show app" toggle and a full-width row for the sandboxed frame. */
function InvocationRow({ r }: { r: Invocation }) {
  const [open, setOpen] = useState(false);
  const ui = useMemo(() => uiResourcesFromPreview(r.outputPreview), [r.outputPreview]);
  return (
    <>
      <tr>
        <td className="nowrap small">{dateTime(r.at)}</td>
        <td>
          <Who who={r.target} /> <span className="small muted">({r.targetKind})</span>
        </td>
        <td className="small">
          <Who who={r.caller} />
          {r.caller.action && !r.allowed ? (
            <div className="mt1">
              <SourceAction who={r.caller} />
            </div>
          ) : null}
        </td>
        <td>
          <CodeBadge code={r.code} ok={r.allowed} />
          <ExplainCode code={r.code} />
        </td>
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
              MCP App from <strong>{r.targetName}</strong>, shown in a sandboxed frame: it can't reach this page, your
              session or the network.
            </p>
            <McpAppFrame resource={ui[0]} title={`App from ${r.targetName}`} />
          </td>
        </tr>
      ) : null}
    </>
  );
}
