/**
 * The investigation bar every log view shares: search, time range (last hour / 24 h / 7 d / 30 d /
 * custom), the log's filters, and export (CSV, JSON lines). The state lives in the URL's query
 * string, so drill-down links from the overview and from rows open the view already filtered.
 */
import { useEffect, useMemo, useRef, useState, type ReactNode } from "react";
import { useConvex, usePaginatedQuery, useMutation } from "convex/react";
import type { FunctionReference } from "convex/server";
import { api } from "../../convex/_generated/api";
import type { Id } from "../../convex/_generated/dataModel";
import { CODE_GROUP_NAMES, codeGroupLabel } from "../../convex/lib/codeGroups";
import { Link, navigate, usePath, useSearch } from "../lib/router";
import { download, readAll, toCsv, toJsonLines, type Row } from "../lib/exportRows";
import { errorInfo, friendly, type ErrorInfo } from "../lib/errors";
import type { Role } from "../auth/role";
import { Badge, Button, InlineError, Loading, RoleButton } from "./kit";

export const RANGES: { value: string; label: string; ms?: number }[] = [
  { value: "", label: "Any time" },
  { value: "1h", label: "Last hour", ms: 3600_000 },
  { value: "24h", label: "Last 24 hours", ms: 24 * 3600_000 },
  { value: "7d", label: "Last 7 days", ms: 7 * 24 * 3600_000 },
  { value: "30d", label: "Last 30 days", ms: 30 * 24 * 3600_000 },
  { value: "custom", label: "Custom…" },
];

export type FilterDef = {
  param: string;
  label: string;
  options?: [string, string][];
  placeholder?: string;
  hint?: string;
};

export const CODE_GROUP_FILTER: FilterDef = {
  param: "group",
  label: "Code group",
  options: CODE_GROUP_NAMES.map((g) => [g, codeGroupLabel(g)]),
};

/** datetime-local value ("2026-01-31T14:05") ↔ ms, in the browser's time zone. */
export function parseLocal(s: string | null): number | undefined {
  if (!s) return undefined;
  const t = new Date(s).getTime();
  return Number.isFinite(t) ? t : undefined;
}
export function toLocalInput(ms: number): string {
  const d = new Date(ms - new Date(ms).getTimezoneOffset() * 60_000);
  return d.toISOString().slice(0, 16);
}

/** The time window the URL asks for: relative ranges are anchored when chosen (stable query args). */
/** The current range's query params, to carry into drill-down links. */
export function rangeParams(search: URLSearchParams, defaultRange = ""): string {
  const out = new URLSearchParams();
  const range = search.get("range") ?? defaultRange;
  if (range && range !== "all") out.set("range", range);
  if (range === "custom") {
    for (const k of ["from", "to"]) if (search.get(k)) out.set(k, search.get(k)!);
  }
  return out.toString();
}

export function useRange(defaultRange = ""): { range: string; from?: number; to?: number } {
  const search = useSearch();
  const range = search.get("range") ?? defaultRange;
  const fromS = search.get("from");
  const toS = search.get("to");
  const anchor = useMemo(() => Date.now(), [range, fromS, toS]);
  if (range === "custom") return { range, from: parseLocal(fromS), to: parseLocal(toS) };
  const def = RANGES.find((r) => r.value === range);
  return def?.ms ? { range, from: anchor - def.ms } : { range };
}

/** Query args from the URL: search + range + the listed filter params (renamed via `map`). */
export function useLogArgs(map: Record<string, string>, opts: { defaultRange?: string; booleans?: string[] } = {}) {
  const search = useSearch();
  const { from, to } = useRange(opts.defaultRange);
  const key = search.toString();
  return useMemo(() => {
    const args: Record<string, unknown> = {};
    const q = search.get("q")?.trim();
    if (q) args.search = q;
    if (from !== undefined) args.from = from;
    if (to !== undefined) args.to = to;
    for (const [param, arg] of Object.entries(map)) {
      const val = search.get(param);
      if (!val) continue;
      args[arg] = opts.booleans?.includes(param) ? val === "1" : val;
    }
    const active = Object.keys(args).length > 0;
    return { args, active };
  }, [key, from, to]);
}

function setParams(path: string, current: URLSearchParams, patch: Record<string, string | null>) {
  const next = new URLSearchParams(current);
  for (const [k, val] of Object.entries(patch)) {
    if (val === null || val === "") next.delete(k);
    else next.set(k, val);
  }
  const s = next.toString();
  navigate(s ? `${path}?${s}` : path, { replace: true });
}

/** Search, range, filters. `extra` goes at the end of the bar (export buttons). */
export function FilterBar({
  filters,
  extra,
  searchLabel = "Search",
  defaultRange = "",
  searchable = true,
}: {
  filters: FilterDef[];
  extra?: ReactNode;
  searchLabel?: string;
  defaultRange?: string;
  searchable?: boolean;
}) {
  const path = usePath();
  const search = useSearch();
  const range = search.get("range") ?? defaultRange;
  const [q, setQ] = useState(search.get("q") ?? "");
  const urlQ = search.get("q") ?? "";
  useEffect(() => setQ(urlQ), [urlQ]);
  // Search applies after a short pause in typing (one subscription per pause, not per key).
  useEffect(() => {
    if (q === urlQ) return;
    const t = setTimeout(
      () => setParams(path, new URLSearchParams(window.location.search), { q: q.trim() || null }),
      350,
    );
    return () => clearTimeout(t);
  }, [q]);
  const activeFilters = filters.filter((f) => search.get(f.param));
  const any = activeFilters.length > 0 || !!urlQ || (!!search.get("range") && search.get("range") !== defaultRange);
  return (
    <div
      className="filter-bar"
      role={searchable ? "search" : "group"}
      aria-label={searchable ? "Filter this log" : "Choose the range"}
    >
      <div className="filter-row">
        {searchable ? (
          <div className="filter-field filter-search">
            <label htmlFor="log-search">{searchLabel}</label>
            <input
              id="log-search"
              className="input"
              type="search"
              value={q}
              onChange={(e) => setQ(e.target.value)}
              placeholder="Text, code, name…"
            />
          </div>
        ) : null}
        <div className="filter-field">
          <label htmlFor="log-range">Time range</label>
          <select
            id="log-range"
            className="input"
            value={range}
            onChange={(e) => {
              const val = e.target.value;
              const now = Date.now();
              setParams(
                path,
                search,
                val === "custom"
                  ? { range: "custom", from: toLocalInput(now - 24 * 3600_000), to: toLocalInput(now) }
                  : { range: val || (defaultRange ? "all" : null), from: null, to: null },
              );
            }}
          >
            {RANGES.map((r) => (
              <option key={r.value} value={r.value === "" && defaultRange ? "all" : r.value}>
                {r.label}
              </option>
            ))}
          </select>
        </div>
        {range === "custom" ? (
          <>
            <div className="filter-field">
              <label htmlFor="log-from">From</label>
              <input
                id="log-from"
                className="input"
                type="datetime-local"
                value={search.get("from") ?? ""}
                onChange={(e) => setParams(path, search, { from: e.target.value })}
              />
            </div>
            <div className="filter-field">
              <label htmlFor="log-to">To</label>
              <input
                id="log-to"
                className="input"
                type="datetime-local"
                value={search.get("to") ?? ""}
                onChange={(e) => setParams(path, search, { to: e.target.value })}
              />
            </div>
          </>
        ) : null}
        {filters.map((f) => (
          <FilterInput
            key={f.param}
            def={f}
            value={search.get(f.param) ?? ""}
            onChange={(val) => setParams(path, new URLSearchParams(window.location.search), { [f.param]: val || null })}
          />
        ))}
      </div>
      {any || extra ? (
        <div className="filter-row filter-foot">
          {activeFilters.map((f) => {
            const val = search.get(f.param)!;
            const shown = f.options?.find(([v]) => v === val)?.[1] ?? val;
            return (
              <span key={f.param} className="chip">
                {f.label}: <strong title={val}>{shown}</strong>
                <button
                  type="button"
                  aria-label={`Remove filter ${f.label}`}
                  onClick={() => setParams(path, search, { [f.param]: null })}
                >
                  ×
                </button>
              </span>
            );
          })}
          {any ? (
            <Button variant="ghost" className="btn-small" onClick={() => navigate(path, { replace: true })}>
              Clear all
            </Button>
          ) : null}
          <span className="spacer" />
          {extra}
        </div>
      ) : null}
    </div>
  );
}

function FilterInput({ def, value, onChange }: { def: FilterDef; value: string; onChange: (v: string) => void }) {
  const id = `filter-${def.param}`;
  const [text, setText] = useState(value);
  useEffect(() => setText(value), [value]);
  if (def.options) {
    const known = def.options.some(([v]) => v === value);
    return (
      <div className="filter-field">
        <label htmlFor={id}>{def.label}</label>
        <select id={id} className="input" value={value} onChange={(e) => onChange(e.target.value)}>
          <option value="">All</option>
          {!known && value ? <option value={value}>{value}</option> : null}
          {def.options.map(([v, l]) => (
            <option key={v} value={v}>
              {l}
            </option>
          ))}
        </select>
      </div>
    );
  }
  return (
    <div className="filter-field">
      <label htmlFor={id}>{def.label}</label>
      <input
        id={id}
        className="input"
        value={text}
        placeholder={def.placeholder}
        title={def.hint}
        onChange={(e) => setText(e.target.value)}
        onBlur={() => text !== value && onChange(text.trim())}
        onKeyDown={(e) => {
          if (e.key === "Enter") onChange(text.trim());
        }}
      />
    </div>
  );
}

type PageResult<T> = { page: T[]; isDone: boolean; continueCursor: string };
type PagedQuery = FunctionReference<"query", "public", any, any>;

/**
 * usePaginatedQuery for a filtered log: each server page reads at most 100 rows of one index range
 * and returns the matching ones, so with a narrow filter this asks for a few more pages by itself
 * (at most 5 per change) until a screenful is found.
 */
export function useLogPages<T>(query: PagedQuery, args: Record<string, unknown> | "skip", active: boolean, page = 25) {
  const r = usePaginatedQuery(query, args, { initialNumItems: active ? 100 : page });
  const auto = useRef(0);
  const key = JSON.stringify(args);
  useEffect(() => {
    auto.current = 0;
  }, [key]);
  useEffect(() => {
    if (active && r.status === "CanLoadMore" && r.results.length < page && auto.current < 5) {
      auto.current++;
      r.loadMore(100);
    }
  }, [active, r.status, r.results.length]);
  return { ...r, results: r.results as T[] };
}

export function More({
  status,
  loadMore,
  active,
}: {
  status: string;
  loadMore: (n: number) => void;
  active?: boolean;
}) {
  if (status === "CanLoadMore")
    return (
      <div className="row mt2">
        <Button onClick={() => loadMore(active ? 100 : 25)}>
          {active ? "Search older entries" : "Load older entries"}
        </Button>
      </div>
    );
  if (status === "LoadingMore") return <Loading label="Loading older entries…" />;
  return null;
}

/** Export buttons: every page of the current filter through the log's own query. */
export function ExportButtons<T>({
  name,
  need = "viewer",
  query,
  args,
  toRow,
}: {
  name: string;
  need?: Role;
  query: PagedQuery;
  args: Record<string, unknown>;
  toRow: (r: T) => Row;
}) {
  const convex = useConvex();
  const [pending, setPending] = useState<"csv" | "jsonl" | null>(null);
  const [error, setError] = useState<ErrorInfo | null>(null);
  const run = async (format: "csv" | "jsonl") => {
    setPending(format);
    setError(null);
    try {
      const rows = await readAll<T>(
        (cursor) =>
          convex.query(query, { ...args, paginationOpts: { numItems: 100, cursor } }) as Promise<PageResult<T>>,
      );
      const out = rows.map(toRow);
      const stamp = new Date().toISOString().slice(0, 16).replace(/[:T]/g, "-");
      if (format === "csv") download(`${name}-${stamp}.csv`, toCsv(out), "text/csv");
      else download(`${name}-${stamp}.jsonl`, toJsonLines(out), "application/x-ndjson");
    } catch (e) {
      setError(errorInfo(e));
    } finally {
      setPending(null);
    }
  };
  return (
    <div className="row export-buttons">
      <RoleButton
        need={need}
        className="btn-small"
        pending={pending === "csv"}
        disabled={pending !== null}
        onClick={() => void run("csv")}
      >
        Export CSV
      </RoleButton>
      <RoleButton
        need={need}
        className="btn-small"
        pending={pending === "jsonl"}
        disabled={pending !== null}
        onClick={() => void run("jsonl")}
      >
        Export JSON lines
      </RoleButton>
      <InlineError error={error} />
    </div>
  );
}

export type WhoInfo = {
  kind: string;
  label: string;
  key?: string;
  link?: string;
  objectLink?: string;
  action?:
    | { kind: "revokeToken"; tokenId: string; revoked: boolean }
    | { kind: "blockSender"; channelUserId: string; blocked: boolean }
    | { kind: "blockSession"; sessionId: string; blocked: boolean };
};

/** A person, client or place: its human name, the raw key as a tooltip, a link when it has a page. */
export function Who({ who, className }: { who: WhoInfo; className?: string }) {
  const title = who.key && who.key !== who.label ? who.key : undefined;
  if (who.link)
    return (
      <Link to={who.link} title={title} className={className}>
        {who.label}
      </Link>
    );
  return (
    <span title={title} className={className}>
      {who.label}
    </span>
  );
}

/** A code with its meaning as a tooltip. */
export function CodeBadge({ code, ok }: { code: string; ok?: boolean }) {
  return (
    <Badge tone={ok ? "ok" : "danger"} title={code === "OK" ? "Allowed" : friendly(code)}>
      {code}
    </Badge>
  );
}

const ACTION_TEXT = {
  revokeToken: { verb: "Revoke token", done: "token revoked", need: "owner" as Role },
  blockSender: { verb: "Block sender", done: "sender blocked", need: "admin" as Role },
  blockSession: { verb: "Block session", done: "session blocked", need: "admin" as Role },
};

/** The action the server has for a source (revoke an MCP token, block a channel sender or a chat session), with a confirmation. */
export function SourceAction({ who }: { who: WhoInfo }) {
  const [confirm, setConfirm] = useState(false);
  const [error, setError] = useState<ErrorInfo | null>(null);
  const [pending, setPending] = useState(false);
  const revoke = useMutation(api.mcp.inbound.tokens.revoke);
  const blockSender = useMutation(api.channels.users.block);
  const blockSession = useMutation(api.chat.sessions.block);
  const a = who.action;
  if (!a) return null;
  const t = ACTION_TEXT[a.kind];
  const done = a.kind === "revokeToken" ? a.revoked : a.blocked;
  if (done) return <Badge tone="warn">{t.done}</Badge>;
  const run = async () => {
    setPending(true);
    setError(null);
    try {
      if (a.kind === "revokeToken") await revoke({ tokenId: a.tokenId as Id<"mcpClientTokens"> });
      else if (a.kind === "blockSender") await blockSender({ channelUserId: a.channelUserId as Id<"channelUsers"> });
      else await blockSession({ sessionId: a.sessionId as Id<"chatSessions">, hours: 24 });
      setConfirm(false);
    } catch (e) {
      setError(errorInfo(e));
    } finally {
      setPending(false);
    }
  };
  return (
    <span className="row source-action">
      {confirm ? (
        <>
          <span className="small">
            {t.verb} for {who.label}
            {a.kind === "blockSession" ? " (and its address for 24 h)" : ""}?
          </span>
          <RoleButton need={t.need} variant="danger" className="btn-small" pending={pending} onClick={() => void run()}>
            Yes, {t.verb.toLowerCase()}
          </RoleButton>
          <Button variant="ghost" className="btn-small" onClick={() => setConfirm(false)}>
            Cancel
          </Button>
        </>
      ) : (
        <RoleButton
          need={t.need}
          variant="danger"
          className="btn-small"
          aria-label={`${t.verb}: ${who.label}`}
          onClick={() => setConfirm(true)}
        >
          {t.verb}
        </RoleButton>
      )}
      <InlineError error={error} />
    </span>
  );
}
