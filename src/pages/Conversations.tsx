import { useState } from "react";
import { useConvex, usePaginatedQuery } from "convex/react";
import { api } from "../../convex/_generated/api";
import type { Id } from "../../convex/_generated/dataModel";
import { useMutate } from "../lib/data";
import { dateTime } from "../lib/format";
import { Link, navigate } from "../lib/router";
import { allPages, saveFile } from "../lib/download";
import { errorInfo, type ErrorInfo } from "../lib/errors";
import { Badge, Button, Card, EmptyState, InlineError, Loading, PageHeader, RoleButton } from "../ui/kit";

export function ConversationDetail({ id }: { id: string }) {
  const threads = usePaginatedQuery(api.chat.owner.listThreads, {}, { initialNumItems: 100 });
  const thread = threads.results.find((t) => t._id === id);
  const { results, status, loadMore } = usePaginatedQuery(
    api.chat.owner.listMessages,
    { threadId: id as Id<"threads"> },
    { initialNumItems: 50 },
  );
  const block = useMutate(api.chat.sessions.block);
  const [confirm, setConfirm] = useState(false);
  const [hours, setHours] = useState(24);
  const messages = [...results].reverse();
  return (
    <>
      <p className="small">
        <Link to="/conversations">← Conversations</Link>
      </p>
      <PageHeader
        title={thread?.title || "Conversation"}
        actions={
          thread?.sessionId ? (
            thread.blocked ? (
              <span className="small" role="status">
                <Badge tone="danger">blocked</Badge>{" "}
                {thread.sourceBlockedUntil
                  ? `New sessions from this visitor's address are refused until ${dateTime(thread.sourceBlockedUntil)}.`
                  : "This session is blocked."}
              </span>
            ) : confirm ? (
              <div className="row">
                <span className="small">
                  Block this visitor? Their session can't send or read anything, and their address can't start a new one
                  for
                </span>
                <select aria-label="Block for" value={hours} onChange={(e) => setHours(Number(e.target.value))}>
                  <option value={1}>1 hour</option>
                  <option value={24}>1 day</option>
                  <option value={168}>7 days</option>
                  <option value={720}>30 days</option>
                </select>
                <RoleButton
                  need="admin"
                  variant="danger"
                  pending={block.pending}
                  onClick={() => void block.run({ sessionId: thread.sessionId!, hours }).then(() => setConfirm(false))}
                >
                  Yes, block
                </RoleButton>
                <Button variant="ghost" onClick={() => setConfirm(false)}>
                  Cancel
                </Button>
              </div>
            ) : (
              <RoleButton need="admin" variant="danger" onClick={() => setConfirm(true)}>
                Block this visitor
              </RoleButton>
            )
          ) : undefined
        }
      />
      <InlineError error={block.error} />
      {thread?.sessionId ? <PersonActions subject={{ kind: "chatSession", id: thread.sessionId }} /> : null}
      {thread?.channelUserId ? <PersonActions subject={{ kind: "channelUser", id: thread.channelUserId }} /> : null}
      {status === "CanLoadMore" ? (
        <Button onClick={() => loadMore(50)} className="mb2">
          Load earlier messages
        </Button>
      ) : null}
      <Card>
        {status === "LoadingFirstPage" ? (
          <Loading />
        ) : messages.length === 0 ? (
          <EmptyState title="No messages in this thread" />
        ) : (
          <ul className="list-plain">
            {messages.map((m) => (
              <li key={m._id}>
                <div className="row">
                  <Badge tone={m.role === "user" ? "neutral" : "accent"}>{m.role}</Badge>
                  {m.status !== "done" ? (
                    <Badge tone={m.status === "error" ? "danger" : "warn"}>{m.status}</Badge>
                  ) : null}
                  {m.errorCode ? <code>{m.errorCode}</code> : null}
                  <span className="spacer" />
                  <span className="small muted">{dateTime(m.createdAt)}</span>
                </div>
                <p className="mt1 mb0 pre-wrap">{m.text || <span className="muted">…</span>}</p>
              </li>
            ))}
          </ul>
        )}
      </Card>
    </>
  );
}

type Subject = { kind: "chatSession"; id: Id<"chatSessions"> } | { kind: "channelUser"; id: Id<"channelUsers"> };

/** Access request and erasure for the person behind a conversation (owners only). */
function PersonActions({ subject }: { subject: Subject }) {
  const convex = useConvex();
  const eraseSession = useMutate(api.privacy.erasure.eraseChatSession);
  const eraseUser = useMutate(api.privacy.erasure.eraseChannelUser);
  const [confirm, setConfirm] = useState(false);
  const [keepBlocked, setKeepBlocked] = useState(true);
  const [exporting, setExporting] = useState(false);
  const [exportError, setExportError] = useState<ErrorInfo | null>(null);
  const who = subject.kind === "chatSession" ? "this visitor" : "this person";

  const exportData = async () => {
    setExporting(true);
    setExportError(null);
    try {
      const person = await convex.query(api.privacy.export.person, { subject });
      const threadPages = await allPages((cursor) =>
        convex.query(api.privacy.export.threads, { subject, paginationOpts: { numItems: 50, cursor } }),
      );
      const threads = [];
      for (const t of threadPages.flatMap((p) => p.page)) {
        const pages = await allPages((cursor) =>
          convex.query(api.privacy.export.messages, { threadId: t._id, paginationOpts: { numItems: 100, cursor } }),
        );
        threads.push({ ...t, messages: pages.flatMap((p) => p.page) });
      }
      const doc = { exportedAt: new Date().toISOString(), person, threads };
      saveFile(`person-${subject.id}.json`, JSON.stringify(doc, null, 2), "application/json");
    } catch (e) {
      setExportError(errorInfo(e));
    } finally {
      setExporting(false);
    }
  };

  const erase = async () => {
    const r =
      subject.kind === "chatSession"
        ? await eraseSession.run({ sessionId: subject.id })
        : await eraseUser.run({ channelUserId: subject.id, block: keepBlocked });
    if (r.ok) navigate("/conversations");
  };

  return (
    <Card title="Personal data" className="mb2">
      <div className="row">
        <RoleButton need="owner" pending={exporting} onClick={() => void exportData()}>
          Export {who}&apos;s data (JSON)
        </RoleButton>
        {confirm ? (
          <>
            <span className="small">
              Erase {who} and everything derived from them (all their conversations, queued replies, approvals
              {subject.kind === "chatSession" ? ", voice sessions" : ", pairing"})? This can&apos;t be undone.
            </span>
            {subject.kind === "channelUser" ? (
              <label className="small">
                <input type="checkbox" checked={keepBlocked} onChange={(e) => setKeepBlocked(e.target.checked)} /> keep
                them blocked
              </label>
            ) : null}
            <RoleButton
              need="owner"
              variant="danger"
              pending={eraseSession.pending || eraseUser.pending}
              onClick={() => void erase()}
            >
              Yes, erase
            </RoleButton>
            <Button variant="ghost" onClick={() => setConfirm(false)}>
              Cancel
            </Button>
          </>
        ) : (
          <RoleButton need="owner" variant="danger" onClick={() => setConfirm(true)}>
            Erase {who}…
          </RoleButton>
        )}
      </div>
      <InlineError error={exportError ?? eraseSession.error ?? eraseUser.error} />
    </Card>
  );
}
