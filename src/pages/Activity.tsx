import { usePaginatedQuery } from "convex/react";
import { api } from "../../convex/_generated/api";
import { isPublishable } from "../../convex/agent/activityTemplates";
import { useMutate } from "../lib/data";
import { dateTime } from "../lib/format";
import { useCan } from "../auth/role";
import { Badge, Button, DataTable, EmptyState, InlineError, Loading, PageHeader } from "../ui/kit";

export function ActivityPage() {
  const { results, status, loadMore } = usePaginatedQuery(api.agent.activity.list, {}, { initialNumItems: 30 });
  const setVisibility = useMutate(api.agent.activity.setVisibility);
  const isOwner = useCan("owner");
  return (
    <>
      <PageHeader
        title="Activity"
        description="What the agent did, in words that never include message text. Owners can make an entry public: it then appears in the public feed with its summary only."
      />
      <InlineError error={setVisibility.error} />
      {status === "LoadingFirstPage" ? (
        <Loading />
      ) : results.length === 0 ? (
        <EmptyState title="No activity yet">Replies, tool calls and model changes appear here. Start a conversation on the public chat to see one.</EmptyState>
      ) : (
        <DataTable columns={["When", "What happened", "Kind", "Visibility"]}>
          {results.map((a) => {
            const publishable = isPublishable(a.kind);
            const isPublic = a.visibility === "public";
            return (
              <tr key={a._id}>
                <td className="nowrap small">{dateTime(a.at)}</td>
                <td>{a.summary}</td>
                <td>
                  <code>{a.kind}</code>
                </td>
                <td>
                  <div className="row">
                    <Badge tone={isPublic ? "accent" : "neutral"}>{a.visibility}</Badge>
                    {publishable || isPublic ? (
                      <Button
                        variant="ghost"
                        className="btn-small"
                        disabled={!isOwner}
                        title={isOwner ? undefined : "Only owners can do this"}
                        aria-pressed={isPublic}
                        aria-label={`${isPublic ? "Make private" : "Make public"}: ${a.summary}`}
                        onClick={() => void setVisibility.run({ activityId: a._id, visibility: isPublic ? "private" : "public" })}
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
      {status === "CanLoadMore" ? (
        <div className="row mt2">
          <Button onClick={() => loadMore(30)}>Load more</Button>
        </div>
      ) : null}
    </>
  );
}
