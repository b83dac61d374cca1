/** Invocations (allowed + denied, stacked bars) and security events (line) per hour or per day for the chosen range. */
import { Fragment, useId, type ReactNode } from "react";
import { hourLabel, num } from "../lib/format";
import { navigate, Link } from "../lib/router";
import { DataTable } from "./kit";

export type HourPoint = {
  bucket: number;
  invocations: number;
  denied: number;
  securityEvents: number;
  rateLimitHits: number;
};

const W = 720;
const H = 220;
const PAD = { l: 40, r: 12, t: 12, b: 28 };

function niceMax(v: number): number {
  if (v <= 4) return 4;
  const mag = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * mag >= v) return m * mag;
  return 10 * mag;
}

const DAY = 24 * 3600_000;
function bucketLabel(ms: number, bucketMs: number): string {
  return bucketMs >= DAY ? new Date(ms).toLocaleDateString("en-GB", { day: "2-digit", month: "short" }) : hourLabel(ms);
}

export function summarize(hours: HourPoint[], span = "the last 24 hours", bucketMs = 3600_000): string {
  const inv = hours.reduce((n, h) => n + h.invocations, 0);
  const denied = hours.reduce((n, h) => n + h.denied, 0);
  const sec = hours.reduce((n, h) => n + h.securityEvents, 0);
  if (inv === 0 && sec === 0) return `No invocations and no security events in ${span}.`;
  const busiest = hours.reduce((a, b) => (b.invocations > a.invocations ? b : a), hours[0]);
  const plural = (n: number, one: string, many: string) => `${num(n)} ${n === 1 ? one : many}`;
  const parts = [
    `${plural(inv, "invocation", "invocations")} in ${span}, ${num(denied)} of them denied`,
    plural(sec, "security event", "security events"),
  ];
  if (busiest && busiest.invocations > 0)
    parts.push(
      `busiest ${bucketMs >= DAY ? "day" : "hour"} ${bucketLabel(busiest.bucket, bucketMs)} with ${plural(busiest.invocations, "invocation", "invocations")}`,
    );
  return parts.join("; ") + ".";
}

/**
 * `linkFor(bucket)` makes each bar (mouse) and each row of the numbers table (keyboard, screen
 * readers) open the invocation log for that bucket.
 */
export function ActivityChart({
  hours,
  bucketMs = 3600_000,
  span = "the last 24 hours",
  linkFor,
}: {
  hours: HourPoint[];
  bucketMs?: number;
  span?: string;
  linkFor?: (bucket: number, bucketMs: number) => string;
}) {
  const id = useId();
  const max = niceMax(Math.max(1, ...hours.map((h) => Math.max(h.invocations, h.securityEvents))));
  const plotW = W - PAD.l - PAD.r;
  const plotH = H - PAD.t - PAD.b;
  const slot = plotW / Math.max(1, hours.length);
  const bw = Math.max(2, slot * 0.64);
  const y = (v: number) => PAD.t + plotH - (v / max) * plotH;
  const ticks = [0, max / 4, max / 2, (3 * max) / 4, max];
  const line = hours
    .map(
      (h, i) => `${i === 0 ? "M" : "L"}${(PAD.l + slot * i + slot / 2).toFixed(1)},${y(h.securityEvents).toFixed(1)}`,
    )
    .join(" ");
  const summary = summarize(hours, span, bucketMs);
  const every = Math.max(1, Math.ceil(hours.length / 8));
  return (
    <figure className="chart mb0" aria-labelledby={`${id}-cap`}>
      <svg viewBox={`0 0 ${W} ${H}`} role="img" aria-labelledby={`${id}-title`} aria-describedby={`${id}-cap`}>
        <title id={`${id}-title`}>
          Invocations, denials and security events per {bucketMs >= DAY ? "day" : "hour"}
        </title>
        {ticks.map((t) => (
          <g key={t}>
            <line className="grid-line" x1={PAD.l} x2={W - PAD.r} y1={y(t)} y2={y(t)} />
            <text x={PAD.l - 6} y={y(t) + 4} textAnchor="end">
              {Number.isInteger(t) ? t : t.toFixed(1)}
            </text>
          </g>
        ))}
        {hours.map((h, i) => {
          const x = PAD.l + slot * i + (slot - bw) / 2;
          const allowed = Math.max(0, h.invocations - h.denied);
          return (
            <g
              key={h.bucket}
              className={linkFor ? "bar-link" : undefined}
              onClick={linkFor ? () => navigate(linkFor(h.bucket, bucketMs)) : undefined}
            >
              {linkFor ? <rect className="bar-hit" x={PAD.l + slot * i} y={PAD.t} width={slot} height={plotH} /> : null}
              {allowed > 0 ? (
                <rect
                  className="bar-inv"
                  x={x}
                  y={y(h.invocations)}
                  width={bw}
                  height={y(h.denied) - y(h.invocations)}
                  rx={2}
                />
              ) : null}
              {h.denied > 0 ? (
                <rect
                  className="bar-denied"
                  x={x}
                  y={y(h.denied)}
                  width={bw}
                  height={PAD.t + plotH - y(h.denied)}
                  rx={2}
                />
              ) : null}
              {i % every === 0 ? (
                <text x={PAD.l + slot * i + slot / 2} y={H - 8} textAnchor="middle">
                  {bucketLabel(h.bucket, bucketMs)}
                </text>
              ) : null}
            </g>
          );
        })}
        <line className="axis" x1={PAD.l} x2={W - PAD.r} y1={PAD.t + plotH} y2={PAD.t + plotH} />
        {hours.length > 1 ? <path className="line-sec" d={line} /> : null}
      </svg>
      <div className="legend" aria-hidden="true">
        <span>Allowed invocations</span>
        <span className="lg-denied">Denied</span>
        <span className="lg-sec">Security events</span>
      </div>
      <figcaption id={`${id}-cap`} className="small muted mt1">
        {summary}
      </figcaption>
      <details className="mt1">
        <summary className="small">Show the numbers</summary>
        <DataTable
          columns={[
            bucketMs >= DAY ? "Day" : "Hour",
            { label: "Invocations", numeric: true },
            { label: "Denied", numeric: true },
            { label: "Security events", numeric: true },
            { label: "Rate-limit hits", numeric: true },
          ]}
          caption={`Counts per ${bucketMs >= DAY ? "day" : "hour"}, ${span}`}
          className="mt1"
        >
          {hours.map((h) => (
            <tr key={h.bucket}>
              <td>
                {linkFor ? (
                  <Link to={linkFor(h.bucket, bucketMs)}>{bucketLabel(h.bucket, bucketMs)}</Link>
                ) : (
                  bucketLabel(h.bucket, bucketMs)
                )}
              </td>
              <td className="num">{num(h.invocations)}</td>
              <td className="num">{num(h.denied)}</td>
              <td className="num">{num(h.securityEvents)}</td>
              <td className="num">{num(h.rateLimitHits)}</td>
            </tr>
          ))}
        </DataTable>
      </details>
    </figure>
  );
}

/** Horizontal bars for "count by name" breakdowns. */
export function BarList({
  items,
  tone = "accent",
  label,
  linkFor,
  nameOf,
}: {
  items: [string, number][];
  tone?: "accent" | "danger";
  label: string;
  /** drill-down: the filtered log for an item */
  linkFor?: (name: string) => string;
  /** a human name for a key (the key stays in the tooltip) */
  nameOf?: (name: string) => string;
}) {
  const max = Math.max(1, ...items.map(([, n]) => n));
  const text = (name: string): ReactNode => {
    const human = nameOf?.(name);
    if (human && human !== name) return <span title={name}>{human}</span>;
    // a long code may wrap after an underscore, never inside a word
    const parts = name.split("_");
    return (
      <code className="code-label">
        {parts.map((p, i) => (
          <Fragment key={i}>
            {p}
            {i < parts.length - 1 ? (
              <>
                _<wbr />
              </>
            ) : null}
          </Fragment>
        ))}
      </code>
    );
  };
  return (
    <ul className="list-plain" aria-label={label}>
      {items.map(([name, n]) => (
        <li key={name} className="bar-row">
          {linkFor ? (
            <Link to={linkFor(name)} className="bar-name" title={nameOf?.(name) ? name : undefined}>
              {text(name)}
            </Link>
          ) : (
            <span className="bar-name">{text(name)}</span>
          )}
          <span className="bar-track" aria-hidden="true">
            <span
              className={`bar-fill${tone === "danger" ? " bar-fill-danger" : ""}`}
              style={{ width: `${(n / max) * 100}%`, display: "block" }}
            />
          </span>
          <span className="num">{num(n)}</span>
        </li>
      ))}
    </ul>
  );
}
