/** The signed-in frame: resolves the workspace and role, then sidebar + top bar + the routed page. */
import { useCallback, useEffect, useRef, useState, type ReactNode } from "react";
import { useAction, useConvexAuth, useMutation } from "convex/react";
import { api } from "../convex/_generated/api";
import { useLoad } from "./lib/data";
import { Link, match, usePath } from "./lib/router";
import { SessionContext, useCan, type Role, type Session } from "./auth/role";
import { Badge, Boundary, Button, ErrorState, InlineError, Loading } from "./ui/kit";
import { routes, NAV } from "./pages/routes";
import { NotFound } from "./pages/NotFound";
import { ThemeToggle } from "./ui/ThemeToggle";
import { Toaster } from "./ui/Toast";
import { switchWorkspace } from "./auth/builtin";
import { useConfig } from "./lib/configContext";
import { errorInfo, type ErrorInfo } from "./lib/errors";

export function AuthedShell({
  provider,
  signOut,
  onRejected,
}: {
  provider: "builtin" | "clerk";
  signOut: () => void;
  onRejected: () => void;
}) {
  const { isLoading, isAuthenticated } = useConvexAuth();
  const rejected = !isLoading && !isAuthenticated;
  useEffect(() => {
    if (rejected) onRejected();
  }, [rejected, onRejected]);
  if (isLoading || rejected) {
    return (
      <div className="center-page">
        <Loading label="Signing in…" />
      </div>
    );
  }
  return <Hello provider={provider} signOut={signOut} />;
}

/**
 * First call after sign-in: a Clerk session is recorded and audited, and a member of a linked Clerk
 * organization with just-in-time membership gets their membership, before the workspace loads.
 * Sign-out ends the session on the server (its token chain stops working), then locally.
 */
function Hello({ provider, signOut }: { provider: "builtin" | "clerk"; signOut: () => void }) {
  const hello = useAction(api.owners.sessions.hello);
  const endSession = useMutation(api.owners.sessions.signOut);
  const [ready, setReady] = useState(provider === "builtin");
  useEffect(() => {
    if (provider !== "clerk") return;
    let live = true;
    hello({})
      .catch(() => undefined) // the workspace query below shows the refusal
      .finally(() => live && setReady(true));
    return () => {
      live = false;
    };
  }, [provider, hello]);
  const fullSignOut = useCallback(() => {
    const give = new Promise((r) => setTimeout(r, 3000));
    void Promise.race([endSession({}).catch(() => undefined), give]).finally(signOut);
  }, [endSession, signOut]);
  if (!ready) {
    return (
      <div className="center-page">
        <Loading label="Signing in…" />
      </div>
    );
  }
  return <Workspace provider={provider} signOut={fullSignOut} />;
}

function Workspace({ provider, signOut }: { provider: "builtin" | "clerk"; signOut: () => void }) {
  const current = useLoad(api.workspaces.manage.current, {});
  if (current.status === "loading") {
    return (
      <div className="center-page">
        <Loading label="Loading your workspace…" />
      </div>
    );
  }
  if (current.status === "error") {
    return (
      <div className="center-page">
        <ErrorState
          title="You can't open this workspace"
          error={current.error}
          action={
            <Button variant="secondary" onClick={signOut}>
              Sign out
            </Button>
          }
        />
      </div>
    );
  }
  const session: Session = {
    role: current.data.role as Role,
    ownerKey: current.data.ownerKey,
    workspaceName: current.data.name || "Workspace",
    provider,
    signOut,
  };
  return (
    <SessionContext.Provider value={session}>
      <Frame session={session} />
    </SessionContext.Provider>
  );
}

function Frame({ session }: { session: Session }) {
  const path = usePath();
  const [menuOpen, setMenuOpen] = useState(false);
  const mainRef = useRef<HTMLElement>(null);
  const lastPath = useRef<string | null>(null);
  useEffect(() => {
    setMenuOpen(false);
    // After client-side navigation, move focus to the new page's content (keyboard and screen-reader users).
    if (lastPath.current !== null && lastPath.current !== path) mainRef.current?.focus();
    lastPath.current = path;
  }, [path]);

  let page: ReactNode = <NotFound />;
  for (const r of routes) {
    const params = match(r.path, path);
    if (params) {
      page = r.render(params);
      break;
    }
  }
  return (
    <>
      <a className="skip-link" href="#main">
        Skip to content
      </a>
      <div className="layout">
        <aside className={`sidebar${menuOpen ? " open" : ""}`}>
          <div className="sidebar-head">
            <Link to="/" className="brand">
              <img src="/favicon.svg" alt="" />
              Warden
            </Link>
            <Button
              variant="secondary"
              className="menu-toggle btn-small"
              aria-expanded={menuOpen}
              aria-controls="board-nav"
              onClick={() => setMenuOpen(!menuOpen)}
            >
              Menu
              <MenuCount />
            </Button>
          </div>
          <nav aria-label="SyncBoard" id="board-nav">
            {NAV.map((g) => (
              <div className="nav-group" key={g.title}>
                <p className="nav-group-title">{g.title}</p>
                <ul className="nav-list">
                  {g.items.map((it) => {
                    const active = it.to === "/" ? path === "/" : path === it.to || path.startsWith(it.to + "/");
                    return (
                      <li key={it.to}>
                        {it.badge === "approvals" ? (
                          <ApprovalsLink to={it.to} label={it.label} active={active} />
                        ) : it.to === "/" ? (
                          <OverviewLink to={it.to} label={it.label} active={active} />
                        ) : (
                          <Link to={it.to} aria-current={active ? "page" : undefined}>
                            {it.label}
                          </Link>
                        )}
                      </li>
                    );
                  })}
                </ul>
              </div>
            ))}
          </nav>
        </aside>
        <div className="content">
          <header className="topbar">
            <div className="topbar-who">
              <strong>{session.workspaceName}</strong>
              <span aria-hidden="true">·</span>
              <span>{session.ownerKey}</span>
              <Badge tone={session.role === "owner" ? "accent" : "neutral"}>{session.role}</Badge>
              {session.role === "viewer" ? (
                <Badge tone="warn" title="Viewers can look but not change anything">
                  read-only
                </Badge>
              ) : null}
              {session.provider === "builtin" ? <WorkspaceSwitcher /> : null}
            </div>
            <div className="row">
              <ThemeToggle />
              <a className="btn btn-ghost" href="/chat" target="_blank" rel="noopener">
                Open public chat
              </a>
              <Button variant="secondary" onClick={session.signOut}>
                Sign out
              </Button>
            </div>
          </header>
          <main id="main" tabIndex={-1} ref={mainRef}>
            <Boundary resetKey={path}>{page}</Boundary>
          </main>
        </div>
      </div>
      <Toaster />
    </>
  );
}

/**
 * People in several workspaces switch here (built-in sign-in). The server checks the membership and
 * answers a token for the chosen workspace; calls then take the workspace from that token only.
 * Clerk users switch by making another organization active in Clerk.
 */
function WorkspaceSwitcher() {
  const cfg = useConfig();
  const mine = useLoad(api.workspaces.manage.mine, {});
  const [pending, setPending] = useState(false);
  const [error, setError] = useState<ErrorInfo | null>(null);
  if (mine.status !== "ok" || mine.data.length < 2) return null;
  const current = mine.data.find((w) => w.current)?.workspaceId ?? "";
  return (
    <span className="row">
      <label className="small" htmlFor="workspace-switcher">
        Workspace
      </label>
      <select
        id="workspace-switcher"
        className="input"
        value={current}
        disabled={pending}
        onChange={async (e) => {
          setPending(true);
          setError(null);
          try {
            await switchWorkspace(cfg.siteUrl, e.target.value);
          } catch (err) {
            setError(errorInfo(err));
          } finally {
            setPending(false);
          }
        }}
      >
        {mine.data.map((w) => (
          <option key={w.workspaceId} value={w.workspaceId}>
            {w.name} ({w.role})
          </option>
        ))}
      </select>
      <InlineError error={error} />
    </span>
  );
}

/** Pending approvals for the nav badge: admins and owners only (viewers can't read the inbox). */
function usePendingCount(): { n: number; text: string } {
  const canSee = useCan("admin");
  const pending = useLoad(api.agency.board.pendingCount, canSee ? {} : "skip");
  const n = pending.status === "ok" ? pending.data.count : 0;
  return { n, text: pending.status === "ok" && pending.data.more ? `${n}+` : String(n) };
}

/** The Approvals nav link with the pending count (the link's name stays "Approvals"). */
function ApprovalsLink({ to, label, active }: { to: string; label: string; active: boolean }) {
  const { n, text } = usePendingCount();
  return (
    <Link
      to={to}
      aria-current={active ? "page" : undefined}
      aria-describedby={n > 0 ? "nav-pending-count" : undefined}
      className="nav-with-count"
    >
      {label}
      {n > 0 ? (
        <>
          <span className="nav-count" aria-hidden="true" data-testid="pending-count">
            {text}
          </span>
          <span id="nav-pending-count" hidden>
            {text} waiting for a decision
          </span>
        </>
      ) : null}
    </Link>
  );
}

/** Unread notifications (they live on the overview): bounded count from logs/explore:unreadCount. */
function OverviewLink({ to, label, active }: { to: string; label: string; active: boolean }) {
  const unread = useLoad(api.logs.explore.unreadCount, {});
  const n = unread.status === "ok" ? unread.data.count : 0;
  const text = unread.status === "ok" && unread.data.more ? `${n}+` : String(n);
  return (
    <Link
      to={to}
      aria-current={active ? "page" : undefined}
      aria-describedby={n > 0 ? "nav-unread-count" : undefined}
      className="nav-with-count"
    >
      {label}
      {n > 0 ? (
        <>
          <span className="nav-count" aria-hidden="true" data-testid="unread-count">
            {text}
          </span>
          <span id="nav-unread-count" hidden>
            {text} unread {n === 1 ? "notification" : "notifications"}
          </span>
        </>
      ) : null}
    </Link>
  );
}

/** On phones the sidebar is folded: the count shows on the Menu button too. */
function MenuCount() {
  const { n, text } = usePendingCount();
  if (n === 0) return null;
  return (
    <span className="nav-count menu-count" aria-hidden="true">
      {text}
    </span>
  );
}
