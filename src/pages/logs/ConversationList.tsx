import { api } from "../../../convex/_generated/api";
import type { Id } from "../../../convex/_generated/dataModel";
import { relative } from "../../lib/format";
import { Link, useSearch } from "../../lib/router";
import { Badge, DataTable, EmptyState, Loading, PageHeader } from "../../ui/kit";
import {
  ExportButtons,
  FilterBar,
  More,
  SourceAction,
  useLogArgs,
  useLogPages,
  Who,
  type WhoInfo,
} from "../../ui/LogFilters";

type Thread = {
  _id: Id<"threads">;
  title: string;
  source: "web" | "channel" | "other";
  person: WhoInfo | null;
  messageCount: number;
  createdAt: number;
  updatedAt: number;
};

const FILTERS = [
  {
    param: "source",
    label: "Source",
    options: [
      ["web", "Web chat"],
      ["channel", "Channels"],
    ] as [string, string][],
  },
  {
    param: "caller",
    label: "Person",
    placeholder: "from a row link",
    hint: "session:<id> or channelUser:<id> (follow a person's link)",
  },
];
const MAP = { source: "source", caller: "caller" };

export function ConversationListPage() {
  const { args, active } = useLogArgs(MAP);
  const caller = useSearch().get("caller");
  const { results, status, loadMore } = useLogPages<Thread>(api.logs.explore.conversations, args, active, 30);
  return (
    <>
      <PageHeader
        title="Conversations"
        description="Threads from the public chat and from channels, most recent first, with who is on the other end."
      />
      <FilterBar
        filters={FILTERS}
        searchLabel="Search titles"
        extra={
          <ExportButtons<Thread>
            name="conversations"
            query={api.logs.explore.conversations}
            args={args}
            toRow={(t) => ({
              id: t._id,
              title: t.title,
              source: t.source,
              person: t.person?.label ?? "",
              messages: t.messageCount,
              created: new Date(t.createdAt).toISOString(),
              lastActivity: new Date(t.updatedAt).toISOString(),
            })}
          />
        }
      />
      {caller && results[0]?.person ? (
        <p className="small" role="status">
          Conversations with <strong>{results[0].person.label}</strong>. <SourceAction who={results[0].person} />
        </p>
      ) : null}
      {status === "LoadingFirstPage" ? (
        <Loading />
      ) : results.length === 0 ? (
        <EmptyState
          title={active ? "No matching conversations" : "No conversations yet"}
          action={
            active ? undefined : (
              <a href="/chat" target="_blank" rel="noopener">
                Open the public chat
              </a>
            )
          }
        >
          {active
            ? "Change the filters or the time range."
            : "Conversations appear here as soon as a visitor writes on /chat or someone messages a channel."}
        </EmptyState>
      ) : (
        <DataTable
          columns={["Thread", "Who", { label: "Messages", numeric: true }, "Last activity"]}
          className="log-table"
        >
          {results.map((t) => (
            <tr key={t._id}>
              <td>
                <Link to={`/conversations/${t._id}`}>{t.title}</Link>
              </td>
              <td className="small">
                {t.source === "web" ? (
                  <Badge>web chat</Badge>
                ) : t.source === "channel" ? (
                  <Badge tone="accent">channel</Badge>
                ) : (
                  <Badge>other</Badge>
                )}{" "}
                {t.person ? <Who who={t.person} /> : null}{" "}
                {t.person?.action && "blocked" in t.person.action && t.person.action.blocked ? (
                  <Badge tone="danger">blocked</Badge>
                ) : null}
              </td>
              <td className="num">{t.messageCount}</td>
              <td className="small nowrap">{relative(t.updatedAt)}</td>
            </tr>
          ))}
        </DataTable>
      )}
      <More status={status} loadMore={loadMore} active={active} />
    </>
  );
}
