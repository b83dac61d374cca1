import { api } from "../../convex/_generated/api";
import type { Id } from "../../convex/_generated/dataModel";
import { ACTIVITY_TEMPLATES, CHANNEL_LABELS, isPublishable } from "../../convex/agent/activityTemplates";
import { useMutate } from "../lib/data";
import { dateTime } from "../lib/format";
import { Link } from "../lib/router";
import { useCan } from "../auth/role";
import { Badge, Button, DataTable, EmptyState, InlineError, Loading, PageHeader } from "../ui/kit";
import { ExportButtons, FilterBar, More, useLogArgs, useLogPages } from "../ui/LogFilters";

type Entry = {
  _id: Id<"activityLog">;
  at: number;
  kind: string;
  summary: string;
  visibility: "private" | "public";
  channel?: string;
  conversation?: string;
};

const KINDS: [string, string][] = Object.entries(ACTIVITY_TEMPLATES).map(([k, t]) => [k, t.text]);
const CHANNELS: [string, string][] = Object.entries(CHANNEL_LABELS).map(([k, t]) => [k, t.replace(/^(in|on|by) /, "")]);
const FILTERS = [
  { param: "kind", label: "Kind", options: KINDS },
  { param: "channel", label: "Channel", options: CHANNELS },
];
const MAP = { kind: "kind", channel: "channel" };

export function ActivityPage() {
  const { args, active } = useLogArgs(MAP);
  const { results, status, loadMore } = useLogPages<Entry>(api.logs.explore.activity, args, active, 30);
  const setVisibility = useMutate(api.agent.activity.setVisibility);
  const isOwner = useCan("owner");
  return (
    <>
      <PageHeader
        title="Activity"
        description="What the agent did, in words that never include message text. Owners can make an entry public: it then appears in the public feed with its summary only."
      />
      <FilterBar
        filters={FILTERS}
        extra={
          <ExportButtons<Entry>
            name="activity"
            query={api.logs.explore.activity}
            args={args}
            toRow={(a) => ({
              id: a._id,
              time: new Date(a.at).toISOString(),
              kind: a.kind,
              summary: a.summary,
              channel: a.channel ?? "",
              visibility: a.visibility,
              conversation: a.conversation ?? "",
            })}
          />
        }
      />
      <InlineError error={setVisibility.error} />
      {status === "LoadingFirstPage" ? (
        <Loading />
      ) : results.length === 0 ? (
        <EmptyState title={active ? "No matching activity" : "No activity yet"}>
          {active
            ? "Change the filters or the time range."
            : "Replies, tool calls and model changes appear here. Start a conversation on the public chat to see one."}
        </EmptyState>
      ) : (
        <DataTable columns={["When", "What happened", "Kind", "Visibility"]} className="log-table">
          {results.map((a) => {
            const publishable = isPublishable(a.kind);
            const isPublic = a.visibility === "public";
            const kindText = (ACTIVITY_TEMPLATES as Record<string, { text: string }>)[a.kind]?.text;
            return (
              <tr key={a._id}>
                <td className="nowrap small">{dateTime(a.at)}</td>
                <td>
                  {a.summary}
                  {a.conversation ? (
                    <>
                      {" "}
                      <Link
                        to={`/conversations/${a.conversation}`}
                        className="small"
                        aria-label={`Open the conversation: ${a.summary}`}
                      >
                        conversation
                      </Link>
                    </>
                  ) : null}
                </td>
                <td>
                  <code className="code-label" title={kindText}>
                    {a.kind}
                  </code>
                </td>
                <td>
                  <div className="row">
                    <Badge tone={isPublic ? "accent" : "neutral"}>{a.visibility}</Badge>
                    {!isOwner ? null : publishable || isPublic ? (
                      <Button
                        variant="ghost"
                        className="btn-small"
                        aria-pressed={isPublic}
                        aria-label={`${isPublic ? "Make private" : "Make public"}: ${a.summary}`}
                        onClick={() =>
                          void setVisibility.run({ activityId: a._id, visibility: isPublic ? "private" : "public" })
                        }
                      >
                        {isPublic ? "Make private" : "Make public"}
                      </Button>
                    ) : (
                      <span className="small muted" title="This kind of entry is never published">
                        private only
                      </span>
                    )}
                  </div>
                </td>
              </tr>
            );
          })}
        </DataTable>
      )}
      <More status={status} loadMore={loadMore} active={active} />
    </>
  );
}
