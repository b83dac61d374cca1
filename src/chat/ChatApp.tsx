/** /chat: the public chat page. No sign-in; an anonymous session token bound to this browser. */
import {
  createContext,
  useContext,
  useEffect,
  useLayoutEffect,
  useMemo,
  useRef,
  useState,
  type FormEvent,
  type KeyboardEvent,
} from "react";
import { ConvexProvider, useMutation, usePaginatedQuery } from "convex/react";
import { clientFor } from "../lib/client";
import { api } from "../../convex/_generated/api";
import type { WardenConfig } from "../lib/config";
import { useLoad } from "../lib/data";
import { errorInfo, formatWait, visitorText, type ErrorInfo } from "../lib/errors";
import { Link, match, navigate, usePath } from "../lib/router";
import { Boundary, Button, ErrorState, Loading } from "../ui/kit";
import { useChatSession } from "./session";
import { ConnectionBanner, useConnection } from "../ui/ConnectionBanner";
import { ThemeToggle } from "../ui/ThemeToggle";

/** The agent's name as the owner set it (Agent page), shown in the header and the tab title. */
const AgentName = createContext("Assistant");

export const MAX_CHARS = 4000;
const charCount = (s: string) => [...s].length;

export default function ChatApp({ cfg }: { cfg: WardenConfig }) {
  const client = clientFor(cfg.convexUrl, "chat");
  useEffect(() => {
    document.title = "Chat";
  }, []);
  return (
    <ConvexProvider client={client}>
      <ConnectionBanner />
      <Chat siteUrl={cfg.siteUrl} />
    </ConvexProvider>
  );
}

function Chat({ siteUrl }: { siteUrl: string }) {
  const { token, error, retry, restart } = useChatSession(siteUrl);
  const path = usePath();
  const threadId = match("/chat/:threadId", path)?.threadId ?? null;
  const [drawer, setDrawer] = useState(false);
  useEffect(() => setDrawer(false), [path]);

  if (error) {
    return (
      <div className="center-page">
        <main id="main">
          <ErrorState
            title="The chat couldn't start"
            error={error}
            action={
              <>
                {error.code === "RATE_LIMITED" && error.retryAfterMs ? (
                  <p>Try again in {formatWait(error.retryAfterMs)}.</p>
                ) : null}
                <Button variant="primary" onClick={() => void retry()}>
                  Try again
                </Button>
              </>
            }
          />
        </main>
      </div>
    );
  }
  if (!token) {
    return (
      <div className="center-page">
        <Loading label="Starting a private chat session…" />
      </div>
    );
  }
  return <ChatFrame token={token} threadId={threadId} drawer={drawer} setDrawer={setDrawer} restart={restart} />;
}

function ChatFrame({
  token,
  threadId,
  drawer,
  setDrawer,
  restart,
}: {
  token: string;
  threadId: string | null;
  drawer: boolean;
  setDrawer: (v: boolean) => void;
  restart: () => void;
}) {
  // One small subscription that notices a session the server no longer accepts (expired, revoked, blocked).
  const check = useLoad(api.chat.threads.listThreads, {
    sessionToken: token,
    paginationOpts: { numItems: 1, cursor: null },
  });
  const invalid = check.status === "error" && check.error.code === "SESSION_INVALID";
  const agent = useLoad(api.chat.agentInfo.get, { sessionToken: token });
  const agentName = agent.status === "ok" ? agent.data.name : "Assistant";
  useEffect(() => {
    if (invalid) restart();
  }, [invalid, restart]);
  if (check.status !== "ok") {
    return (
      <div className="center-page">
        {check.status === "error" && !invalid ? (
          <ErrorState error={check.error} />
        ) : (
          <Loading label="Starting a private chat session…" />
        )}
      </div>
    );
  }
  return (
    <AgentName.Provider value={agentName}>
      <div className={`chat${drawer ? " threads-open" : ""}`} onKeyDown={(e) => e.key === "Escape" && setDrawer(false)}>
        <a className="skip-link" href="#composer-input">
          Skip to message box
        </a>
        <aside className="chat-threads" id="chat-threads" aria-label="Your conversations">
          <header>
            <div className="row">
              <div className="brand">
                <img src="/favicon.svg" alt="" />
                <span data-testid="agent-name">{agentName}</span>
              </div>
              <span className="spacer" />
              {drawer ? (
                <Button
                  variant="secondary"
                  className="menu-toggle btn-small"
                  onClick={() => setDrawer(false)}
                  autoFocus
                >
                  Close
                </Button>
              ) : null}
            </div>
            <Button variant="primary" onClick={() => navigate("/chat")}>
              New conversation
            </Button>
          </header>
          <Boundary resetKey={token}>
            <ThreadList token={token} current={threadId} />
          </Boundary>
          <ForgetMe token={token} onDone={restart} />
          <ThemeToggle className="btn-small" />
        </aside>
        <div className="chat-main">
          <Boundary resetKey={`${token}:${threadId}`}>
            {threadId ? (
              <ThreadView
                key={threadId}
                token={token}
                threadId={threadId}
                onMenu={() => setDrawer(true)}
                onInvalid={restart}
              />
            ) : (
              <NewThread token={token} onMenu={() => setDrawer(true)} onInvalid={restart} />
            )}
          </Boundary>
        </div>
      </div>
    </AgentName.Provider>
  );
}

function ThreadList({ token, current }: { token: string; current: string | null }) {
  const { results, status, loadMore } = usePaginatedQuery(
    api.chat.threads.listThreads,
    { sessionToken: token },
    { initialNumItems: 30 },
  );
  return (
    <nav aria-label="Conversations">
      {status === "LoadingFirstPage" ? <Loading /> : null}
      {status !== "LoadingFirstPage" && results.length === 0 ? (
        <p className="small muted">Your conversations will appear here. They are only visible in this browser.</p>
      ) : null}
      <ul className="list-plain">
        {results.map((t) => (
          <li key={t._id} className="thread-item">
            <Link to={`/chat/${t._id}`} aria-current={t._id === current ? "page" : undefined}>
              {t.title || "New conversation"}
            </Link>
          </li>
        ))}
      </ul>
      {status === "CanLoadMore" ? (
        <Button variant="ghost" onClick={() => loadMore(30)}>
          Older conversations
        </Button>
      ) : null}
    </nav>
  );
}

function ForgetMe({ token, onDone }: { token: string; onDone: () => void }) {
  const revoke = useMutation(api.chat.sessions.revoke);
  const [ask, setAsk] = useState(false);
  return (
    <div className="forget">
      {ask ? (
        <div className="stack-tight">
          <p className="small mb0">
            End this session? Your conversations will no longer be reachable from this browser.
          </p>
          <div className="row">
            <Button
              variant="danger"
              className="btn-small"
              onClick={async () => {
                try {
                  await revoke({ sessionToken: token });
                } finally {
                  onDone();
                  navigate("/chat");
                }
              }}
            >
              End session
            </Button>
            <Button variant="ghost" className="btn-small" onClick={() => setAsk(false)}>
              Cancel
            </Button>
          </div>
        </div>
      ) : (
        <Button variant="ghost" className="btn-small" onClick={() => setAsk(true)}>
          Forget me
        </Button>
      )}
    </div>
  );
}

function TopBar({ title, onMenu }: { title: string; onMenu: () => void }) {
  const agentName = useContext(AgentName);
  useEffect(() => {
    document.title = `${title} · ${agentName}`;
  }, [title, agentName]);
  return (
    <header className="chat-top">
      <Button variant="secondary" className="menu-toggle btn-small" onClick={onMenu} aria-controls="chat-threads">
        Conversations
      </Button>
      <div className="chat-title">
        <h1>{title}</h1>
        <p className="small muted mb0">
          with <strong>{agentName}</strong>
        </p>
      </div>
    </header>
  );
}

function NewThread({ token, onMenu, onInvalid }: { token: string; onMenu: () => void; onInvalid: () => void }) {
  const createThread = useMutation(api.chat.threads.createThread);
  const send = useMutation(api.chat.threads.send);
  return (
    <>
      <TopBar title="New conversation" onMenu={onMenu} />
      <main className="chat-log" id="main">
        <div className="chat-welcome">
          <h2>Ask anything</h2>
          <p>Messages are answered by this site's assistant. Don't share passwords or personal data.</p>
        </div>
      </main>
      <Composer
        onInvalid={onInvalid}
        onSend={async (text) => {
          const t = await createThread({ sessionToken: token, title: text.slice(0, 60) });
          if (!t.ok) return t;
          const r = await send({ sessionToken: token, threadId: t.threadId, text });
          navigate(`/chat/${t.threadId}`);
          return r;
        }}
      />
    </>
  );
}

function ThreadView({
  token,
  threadId,
  onMenu,
  onInvalid,
}: {
  token: string;
  threadId: string;
  onMenu: () => void;
  onInvalid: () => void;
}) {
  const thread = useLoad(api.chat.threads.getThread, { sessionToken: token, threadId });
  const send = useMutation(api.chat.threads.send);
  useEffect(() => {
    if (thread.status === "error" && thread.error.code === "SESSION_INVALID") onInvalid();
  }, [thread, onInvalid]);
  if (thread.status === "loading")
    return (
      <>
        <TopBar title="Conversation" onMenu={onMenu} />
        <main className="chat-log" id="main">
          <Loading />
        </main>
      </>
    );
  if (thread.status === "error")
    return (
      <>
        <TopBar title="Conversation" onMenu={onMenu} />
        <main className="chat-log" id="main">
          <div className="chat-welcome">
            <ErrorState
              title="This conversation isn't available"
              error={thread.error}
              message={
                thread.error.code === "FORBIDDEN"
                  ? "It doesn't exist, or it belongs to another visitor. Conversations are only visible in the browser that started them."
                  : undefined
              }
              action={
                <Button variant="primary" onClick={() => navigate("/chat")}>
                  Start a new conversation
                </Button>
              }
            />
          </div>
        </main>
      </>
    );
  return (
    <>
      <TopBar title={thread.data.title || "Conversation"} onMenu={onMenu} />
      <Messages token={token} threadId={threadId} />
      <Composer onInvalid={onInvalid} onSend={(text) => send({ sessionToken: token, threadId, text })} />
    </>
  );
}

function Messages({ token, threadId }: { token: string; threadId: string }) {
  const { results, status, loadMore } = usePaginatedQuery(
    api.chat.threads.listMessages,
    { sessionToken: token, threadId },
    { initialNumItems: 50 },
  );
  const messages = useMemo(() => [...results].reverse(), [results]);
  const endRef = useRef<HTMLDivElement>(null);
  const last = messages[messages.length - 1];
  useLayoutEffect(() => {
    endRef.current?.scrollIntoView({ block: "end" });
  }, [messages.length, last?.text, last?.status]);
  return (
    <main
      className="chat-log"
      id="main"
      role="log"
      aria-live="polite"
      aria-relevant="additions text"
      aria-label="Messages"
    >
      {status === "CanLoadMore" ? (
        <Button variant="ghost" onClick={() => loadMore(50)}>
          Earlier messages
        </Button>
      ) : null}
      {status === "LoadingFirstPage" ? <Loading /> : null}
      {messages.map((m) => {
        if (m.role === "user")
          return (
            <div key={m._id} className="msg msg-user">
              <span className="sr-only">You: </span>
              {m.text}
            </div>
          );
        if (m.status === "pending" || (m.status === "streaming" && !m.text))
          return (
            <div key={m._id} className="msg msg-assistant msg-pending" data-status="pending">
              <span className="spinner" aria-hidden="true" /> thinking…
            </div>
          );
        if (m.status === "error")
          return (
            <div key={m._id} className="msg msg-assistant msg-error" data-status="error">
              {m.text || visitorText(m.errorCode ?? "INTERNAL")}
            </div>
          );
        return (
          <div key={m._id} className="msg msg-assistant" data-status={m.status}>
            <span className="sr-only">Assistant: </span>
            {m.text}
            {m.status === "streaming" ? <span aria-hidden="true"> ▍</span> : null}
          </div>
        );
      })}
      <div ref={endRef} />
    </main>
  );
}

type SendResult = { ok: true } | { ok: false; code: string; retryAfterMs: number };

function Composer({ onSend, onInvalid }: { onSend: (text: string) => Promise<SendResult>; onInvalid: () => void }) {
  const [text, setText] = useState("");
  const [pending, setPending] = useState(false);
  const [error, setError] = useState<ErrorInfo | null>(null);
  const [retryAt, setRetryAt] = useState<number | null>(null);
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    if (!retryAt) return;
    const t = setInterval(() => {
      const n = Date.now();
      setNow(n);
      if (n >= retryAt) setRetryAt(null);
    }, 1000);
    return () => clearInterval(t);
  }, [retryAt]);

  const count = charCount(text);
  const over = count > MAX_CHARS;
  const waiting = retryAt !== null && retryAt > now;
  // While the socket is down the client would queue the message; refuse instead and say why.
  const { down } = useConnection();
  const canSend = !!text.trim() && !over && !pending && !waiting && !down;

  const submit = async (e?: FormEvent) => {
    e?.preventDefault();
    if (!canSend) return;
    setPending(true);
    setError(null);
    try {
      const r = await onSend(text);
      if (r.ok) setText("");
      else if (r.code === "RATE_LIMITED" || r.code === "LIMIT_UNAVAILABLE") {
        setRetryAt(Date.now() + r.retryAfterMs);
        setNow(Date.now());
        setError({ code: r.code, retryAfterMs: r.retryAfterMs });
      } else setError({ code: r.code });
    } catch (err) {
      const info = errorInfo(err);
      if (info.code === "SESSION_INVALID") onInvalid();
      setError(info);
    } finally {
      setPending(false);
    }
  };
  const onKey = (e: KeyboardEvent<HTMLTextAreaElement>) => {
    if (e.key === "Enter" && !e.shiftKey && !e.nativeEvent.isComposing) {
      e.preventDefault();
      void submit();
    }
  };
  return (
    <form className="composer" onSubmit={submit} noValidate>
      {waiting ? (
        <p className="chat-status field-error" role="alert" data-testid="rate-limit">
          You're sending messages too quickly. You can send again in {formatWait(retryAt! - now)}.
        </p>
      ) : down ? (
        <p className="chat-status" data-testid="composer-offline">
          Reconnecting… you can send again when the connection is back. Your text stays here.
        </p>
      ) : error && error.code !== "RATE_LIMITED" ? (
        <p className="chat-status field-error" role="alert">
          {error.code === "MESSAGE_TOO_LONG" && error.maxChars
            ? `Messages can be at most ${error.maxChars.toLocaleString("en-US")} characters.`
            : visitorText(error.code)}
        </p>
      ) : null}
      <label htmlFor="composer-input" className="sr-only">
        Message
      </label>
      <textarea
        id="composer-input"
        className="input"
        value={text}
        onChange={(e) => setText(e.target.value)}
        onKeyDown={onKey}
        placeholder="Write a message…"
        aria-describedby="composer-count composer-help"
        aria-invalid={over || undefined}
        rows={3}
      />
      <div className="composer-foot">
        <span id="composer-count" className={`counter${over ? " counter-over" : ""}`} aria-live="polite">
          {count.toLocaleString("en-US")} / {MAX_CHARS.toLocaleString("en-US")}
          {over ? ` — ${(count - MAX_CHARS).toLocaleString("en-US")} too many` : ""}
        </span>
        <span id="composer-help" className="small muted hide-narrow">
          Enter to send · Shift+Enter for a new line
        </span>
        <Button type="submit" variant="primary" disabled={!canSend} pending={pending}>
          Send
        </Button>
      </div>
    </form>
  );
}
