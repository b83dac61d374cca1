import { useEffect, useState } from "react";
import { api } from "../../convex/_generated/api";
import type { Id } from "../../convex/_generated/dataModel";
import { useLoad, useMutate } from "../lib/data";
import { useConfig } from "../lib/configContext";
import { dateTime, num, relative } from "../lib/format";
import { Link, useSearch } from "../lib/router";
import { useCan } from "../auth/role";
import { ActivityChart, BarList } from "../ui/Chart";
import { FirstRunChecklist } from "./FirstRun";
import {
  Badge,
  Card,
  DataTable,
  EmptyState,
  ErrorState,
  InlineError,
  Loading,
  PageHeader,
  RoleButton,
} from "../ui/kit";
import { LIMIT_DEFAULTS } from "../../convex/lib/limitsCatalog";
import { CodeBadge, FilterBar, RANGES, SourceAction, Who, rangeParams, toLocalInput, useRange } from "../ui/LogFilters";

const DEFAULT_RANGE = "24h";
const limitName = (k: string) => (LIMIT_DEFAULTS as Record<string, { label: string }>)[k]?.label ?? k;

/** "?a=b" joined with the current range's params. */
function withRange(path: string, range: string): string {
  if (!range) return path;
  return path + (path.includes("?") ? "&" : "?") + range;
}

function useHealth(siteUrl: string) {
  const [state, setState] = useState<"checking" | "ok" | "down">("checking");
  useEffect(() => {
    let stop = false;
    const check = async () => {
      try {
        const r = await fetch(`${siteUrl}/health`, { cache: "no-store", credentials: "omit" });
        if (!stop) setState(r.ok ? "ok" : "down");
      } catch {
        if (!stop) setState("down");
      }
    };
    void check();
    const t = setInterval(check, 30_000);
    return () => {
      stop = true;
      clearInterval(t);
    };
  }, [siteUrl]);
  return state;
}

export function Overview() {
  const cfg = useConfig();
  const health = useHealth(cfg.siteUrl);
  const o = useLoad(api.logs.dashboard.overview, {});
  const search = useSearch();
  const { range, from, to } = useRange(DEFAULT_RANGE);
  const rangeQs = rangeParams(search, DEFAULT_RANGE);
  const [tzOffsetMinutes] = useState(() => -new Date().getTimezoneOffset());
  const r = useLoad(api.logs.explore.overviewRange, {
    from: from ?? 0,
    ...(to !== undefined ? { to } : {}),
    tzOffsetMinutes,
  });
  const notes = useLoad(api.logs.explore.notifications, {});
  const span =
    range === "custom"
      ? "the chosen range"
      : range === "all"
        ? "the last 90 days"
        : `the ${(RANGES.find((x) => x.value === range)?.label ?? "Last 24 hours").toLowerCase()}`;
  const short =
    range === "custom"
      ? "range"
      : range === "1h"
        ? "1 h"
        : range === "7d"
          ? "7 d"
          : range === "30d"
            ? "30 d"
            : range === "all"
              ? "90 d"
              : "24 h";
  const bucketLink = (bucket: number, bucketMs: number) =>
    `/logs/invocations?range=custom&from=${encodeURIComponent(toLocalInput(bucket))}&to=${encodeURIComponent(toLocalInput(bucket + bucketMs - 60_000))}`;
  const canAdmin = useCan("admin");
  const rotation = useLoad(api.secrets.rotation.status, canAdmin ? {} : "skip");
  const markRead = useMutate(api.logs.browse.markNotificationRead, { toast: "Marked as read." });

  return (
    <>
      <PageHeader
        title="Overview"
        description={`What your agent did in ${span}, and what the security checker stopped. Every number opens the log behind it.`}
      />
      <FirstRunChecklist />
      <FilterBar filters={[]} searchable={false} defaultRange={DEFAULT_RANGE} />
      <div className="grid grid-4">
        <Card className="stat">
          <p className="stat-label">Server</p>
          <p className="stat-value">
            {health === "checking" ? (
              <Badge>checking…</Badge>
            ) : health === "ok" ? (
              <Badge tone="ok">healthy</Badge>
            ) : (
              <Badge tone="danger">unreachable</Badge>
            )}
          </p>
        </Card>
        {r.status === "ok" ? (
          <>
            <Stat
              label={`Invocations (${short})`}
              value={r.data.totals.invocations}
              to={withRange("/logs/invocations", rangeQs)}
            />
            <Stat
              label="Denied by the checker"
              value={r.data.totals.denied}
              danger={r.data.totals.denied > 0}
              to={withRange("/logs/invocations?denied=1", rangeQs)}
            />
            <Stat
              label="Security events"
              value={r.data.totals.securityEvents}
              danger={r.data.totals.securityEvents > 0}
              to={withRange("/logs/security", rangeQs)}
            />
            <Stat
              label="Rate-limit hits"
              value={r.data.totals.rateLimitHits}
              to={withRange("/logs/security?code=RATE_LIMITED", rangeQs)}
            />
          </>
        ) : null}
      </div>
      {(o.status === "ok" && o.data.liveTailTruncated) || (r.status === "ok" && r.data.truncated) ? (
        <p className="small muted" role="status">
          The summary job is behind: invocation counts include only the latest 1,000 calls not yet summarised.
        </p>
      ) : null}
      {o.status === "loading" ? <Loading /> : null}
      {o.status === "error" ? <ErrorState error={o.error} /> : null}
      {o.status === "ok" ? (
        <div className="stack mt2">
          <Card title={`Invocations and denials, ${span.replace(/^the /, "")}`}>
            {r.status === "ok" ? (
              <ActivityChart hours={r.data.points} bucketMs={r.data.bucketMs} span={span} linkFor={bucketLink} />
            ) : r.status === "error" ? (
              <ErrorState error={r.error} />
            ) : (
              <Loading />
            )}
          </Card>
          {r.status === "ok" ? (
            <div className="grid grid-2">
              <Card
                title="Security events by code"
                actions={<Link to={withRange("/logs/security", rangeQs)}>All events</Link>}
              >
                {Object.keys(r.data.securityByCode).length === 0 ? (
                  <EmptyState title="No security events">
                    Denied webhooks, blocked domains and rate-limit hits show up here.
                  </EmptyState>
                ) : (
                  <BarList
                    label="Security events by code"
                    tone="danger"
                    items={Object.entries(r.data.securityByCode).sort((a, b) => b[1] - a[1])}
                    linkFor={(code) => withRange(`/logs/security?code=${encodeURIComponent(code)}`, rangeQs)}
                  />
                )}
              </Card>
              <Card title="Rate-limit hits" actions={<Link to="/limits">Edit limits</Link>}>
                {Object.keys(r.data.rateLimitsByName).length === 0 ? (
                  <EmptyState title="No rate-limit hits">Every limit stayed within bounds in {span}.</EmptyState>
                ) : (
                  <BarList
                    label="Rate-limit hits by limit"
                    items={Object.entries(r.data.rateLimitsByName).sort((a, b) => b[1] - a[1])}
                    nameOf={limitName}
                    linkFor={(name) =>
                      withRange(`/logs/security?code=RATE_LIMITED&q=${encodeURIComponent(`limit=${name}`)}`, rangeQs)
                    }
                  />
                )}
              </Card>
            </div>
          ) : null}
          <div className="grid grid-2">
            <Card title="Notifications">
              {notes.status !== "ok" ? (
                notes.status === "error" ? (
                  <InlineError error={notes.error} />
                ) : (
                  <Loading />
                )
              ) : notes.data.length === 0 ? (
                <EmptyState title="No notifications">
                  Warden tells you here when, for example, an MCP server is disabled after failed health checks.
                </EmptyState>
              ) : (
                <ul className="list-plain">
                  {notes.data.map((n) => (
                    <li key={n.id}>
                      <div className="row">
                        {n.read ? (
                          <Badge>read</Badge>
                        ) : (
                          <Badge tone={n.kind.includes("disable") ? "danger" : "accent"}>new</Badge>
                        )}
                        <strong>{n.title}</strong>
                        <span className="spacer" />
                        <span className="small muted">{relative(n.createdAt)}</span>
                      </div>
                      <p className="small mt1 mb0">{n.body}</p>
                      {n.source ? (
                        <div className="row small mt1">
                          <span>
                            Source: <Who who={n.source} />
                          </span>
                          <SourceAction who={n.source} />
                        </div>
                      ) : null}
                      {!n.read ? (
                        <RoleButton
                          need="admin"
                          variant="ghost"
                          className="btn-small"
                          onClick={() => void markRead.run({ notificationId: n.id as Id<"notifications"> })}
                        >
                          Mark as read
                        </RoleButton>
                      ) : null}
                    </li>
                  ))}
                </ul>
              )}
              <InlineError error={markRead.error} />
            </Card>
            <Card
              title="Recent failed invocations"
              actions={<Link to={withRange("/logs/invocations?denied=1", rangeQs)}>All denials</Link>}
            >
              {o.data.recentFailedInvocations.length === 0 ? (
                <EmptyState title="No failed invocations">
                  Skill and MCP calls the checker refuses are listed here with their code.
                </EmptyState>
              ) : (
                <DataTable columns={["Target", "Code", "When"]}>
                  {o.data.recentFailedInvocations.map((f, i) => (
                    <tr key={i}>
                      <td>
                        <Link to={`/logs/invocations?denied=1&target=${encodeURIComponent(f.target)}`}>{f.target}</Link>{" "}
                        <span className="muted small">({f.kind})</span>
                      </td>
                      <td>
                        <Link
                          to={`/logs/invocations?code=${encodeURIComponent(f.code)}`}
                          aria-label={`${f.code}: all calls with this outcome`}
                        >
                          <CodeBadge code={f.code} />
                        </Link>
                      </td>
                      <td className="nowrap">{relative(f.at)}</td>
                    </tr>
                  ))}
                </DataTable>
              )}
            </Card>
          </div>
          <div className="grid grid-2">
            <Card title="Recent security events" actions={<Link to="/logs/security">All events</Link>}>
              {o.data.recentSecurityEvents.length === 0 ? (
                <EmptyState title="All quiet">Nothing has been refused yet.</EmptyState>
              ) : (
                <ul className="list-plain">
                  {o.data.recentSecurityEvents.map((e, i) => (
                    <li key={i} className="row">
                      <Link
                        to={`/logs/security?code=${encodeURIComponent(e.code)}`}
                        aria-label={`${e.code}: all events with this code`}
                      >
                        <CodeBadge code={e.code} />
                      </Link>
                      <span className="small">{e.category}</span>
                      <span className="small muted">{e.detail}</span>
                      <span className="spacer" />
                      <span className="small muted nowrap">{dateTime(e.at)}</span>
                    </li>
                  ))}
                </ul>
              )}
            </Card>
            <Card title="MCP server health" actions={<Link to="/mcp">MCP servers</Link>}>
              {o.data.mcpHealth.length === 0 ? (
                <EmptyState title="No MCP servers">
                  Register an external MCP server to give the agent more tools; its health checks appear here.
                </EmptyState>
              ) : (
                <ul className="list-plain">
                  {o.data.mcpHealth.map((s) => (
                    <li key={s.id} className="row">
                      <strong>{s.name}</strong>
                      <Badge tone={s.health === "healthy" ? "ok" : s.health === "unhealthy" ? "danger" : "neutral"}>
                        {s.health}
                      </Badge>
                      {!s.enabled ? <Badge tone="warn">disabled</Badge> : null}
                      <span className="spacer" />
                      <span className="small muted">
                        {s.latencyMs !== null ? `${s.latencyMs} ms · ` : ""}
                        checked {relative(s.checkedAt)}
                      </span>
                    </li>
                  ))}
                </ul>
              )}
            </Card>
          </div>
          {rotation.status === "ok" ? (
            <Card title="Secret encryption keys">
              <p className="mb0">
                Current key version <code>{rotation.data.current}</code>
                {rotation.data.previous.length ? (
                  <>
                    ; previous versions still readable: <code>{rotation.data.previous.join(", ")}</code>
                  </>
                ) : null}
                . {num(rotation.data.remainingOnOldVersions)} secret
                {rotation.data.remainingOnOldVersions === 1 ? "" : "s"} still on older keys
                {rotation.data.unreadable > 0 ? (
                  <strong className="field-error"> · {num(rotation.data.unreadable)} unreadable (key missing)</strong>
                ) : null}
                .
              </p>
            </Card>
          ) : rotation.status === "error" && rotation.error.code !== "FORBIDDEN" ? (
            <Card title="Secret encryption keys">
              <InlineError error={rotation.error} />
            </Card>
          ) : null}
        </div>
      ) : null}
    </>
  );
}

function Stat({ label, value, danger, to }: { label: string; value: number; danger?: boolean; to: string }) {
  return (
    <Card className={`stat${danger ? " stat-danger" : ""}`}>
      <p className="stat-label">{label}</p>
      <p className="stat-value">
        <Link to={to} aria-label={`${label}: ${num(value)}. Open the log`}>
          {num(value)}
        </Link>
      </p>
    </Card>
  );
}
