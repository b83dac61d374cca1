import { api } from "../../../convex/_generated/api";
import { dateTime } from "../../lib/format";
import { useSearch } from "../../lib/router";
import { DataTable, EmptyState, Loading, PageHeader, Preview } from "../../ui/kit";
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
import { Link } from "../../lib/router";
import { ExplainCode } from "../../ui/Explain";

type Event = {
  id: string;
  at: number;
  code: string;
  codeGroup: string;
  category: string;
  detail: string;
  source: WhoInfo;
};

const CATEGORIES: [string, string][] = [
  ["auth", "Sign-in"],
  ["chat", "Public chat"],
  ["webhook", "Channel webhooks"],
  ["skill", "Skills"],
  ["mcp", "MCP"],
  ["secret", "Secrets"],
  ["voice", "Voice"],
  ["alert", "Abuse alerts"],
];

const FILTERS = [
  CODE_GROUP_FILTER,
  { param: "code", label: "Code", placeholder: "e.g. RATE_LIMITED" },
  { param: "category", label: "Target", options: CATEGORIES },
  {
    param: "source",
    label: "Source",
    placeholder: "source key from a row",
    hint: "A source key, e.g. ip:203.0.113.0/24~3fa9c2d1 (follow a row's source link)",
  },
];
const MAP = { group: "codeGroup", code: "code", category: "category", source: "source" };

export function SecurityLogPage() {
  const { args, active } = useLogArgs(MAP);
  const source = useSearch().get("source");
  const { results, status, loadMore } = useLogPages<Event>(api.logs.explore.securityEvents, args, active);
  return (
    <>
      <PageHeader
        title="Security events"
        description="Everything the server refused: bad signatures, blocked domains, rate-limit hits, sign-in failures. Addresses are shown as their network plus a short tag that groups repeats; the address itself is not stored."
      />
      <FilterBar
        filters={FILTERS}
        extra={
          <ExportButtons<Event>
            name="security-events"
            query={api.logs.explore.securityEvents}
            args={args}
            toRow={(e) => ({
              id: e.id,
              time: new Date(e.at).toISOString(),
              code: e.code,
              codeGroup: e.codeGroup,
              category: e.category,
              source: e.source.label,
              sourceKey: e.source.key ?? "",
              detail: e.detail,
            })}
          />
        }
      />
      {source && results[0] ? (
        <p className="small" role="status">
          Showing events from <strong>{results[0].source.label}</strong> <span className="muted">({source})</span>.{" "}
          <SourceAction who={results[0].source} />
        </p>
      ) : null}
      {status === "LoadingFirstPage" ? (
        <Loading />
      ) : results.length === 0 ? (
        <EmptyState title={active ? "No matching security events" : "No security events"}>
          {active
            ? status === "CanLoadMore"
              ? "Nothing matches in the newest events; search older ones below."
              : "Change the filters or the time range."
            : "Nothing has been refused yet."}
        </EmptyState>
      ) : (
        <DataTable columns={["When", "Code", "Target", "Source", "Detail"]} className="log-table">
          {results.map((e) => (
            <tr key={e.id}>
              <td className="nowrap small">{dateTime(e.at)}</td>
              <td>
                <CodeBadge code={e.code} />
                <ExplainCode code={e.code} />
              </td>
              <td className="small">{CATEGORIES.find(([c]) => c === e.category)?.[1] ?? e.category}</td>
              <td className="small">
                <Who who={e.source} />
                {e.source.objectLink ? (
                  <>
                    {" "}
                    ·{" "}
                    <Link to={e.source.objectLink} aria-label={`Open ${e.source.label}`}>
                      open
                    </Link>
                  </>
                ) : null}
              </td>
              <td>
                <Preview text={e.detail} />
              </td>
            </tr>
          ))}
        </DataTable>
      )}
      <More status={status} loadMore={loadMore} active={active} />
    </>
  );
}
