// Prometheus metrics for the embedded runtime (`GET /metrics` on the main port, operator-only).
// Counters come from the runtime's own events (HTTP, function calls, WebSocket) and from the
// documents each transaction inserts into the append-only logs (invocations, denials, security
// events, webhooks, deliveries); gauges are read at scrape time. Labels are code-defined values
// only (route templates, kinds, catalogue codes), never ids, IPs, subjects or text.
import type { IncomingMessage } from "node:http";
import { createHash, timingSafeEqual } from "node:crypto";
import type { CommitRecord } from "./internals.js";
import { tableNameFromId } from "./internals.js";

type Labels = Record<string, string>;
type Family = { help: string; type: "counter" | "gauge"; series: Map<string, { labels: Labels; value: number }> };

/** Distinct label sets per metric; beyond it new sets are counted under "other". */
const MAX_SERIES = 300;
const DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const TX_HELP = "Committed transactions that wrote data (root component).";
const WEBHOOK_HELP = "Verified inbound channel webhook deliveries accepted (after de-duplication).";
const ENQUEUED_HELP = "Outbound channel replies queued for sending.";
const DEQUEUED_HELP = "Outbound channel replies that left the outbox (sent or finally failed).";
const METHODS = new Set(["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]);

/** A label value made of a small safe alphabet, bounded in length. */
export function labelValue(v: unknown): string {
  const s = String(v ?? "")
    .replace(/[^A-Za-z0-9_.:/*-]/g, "_")
    .slice(0, 64);
  return s || "none";
}

const escape = (v: string) => v.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
const fmtLabels = (l: Labels) => {
  const parts = Object.entries(l).map(([k, v]) => `${k}="${escape(v)}"`);
  return parts.length ? `{${parts.join(",")}}` : "";
};

export class Metrics {
  private families = new Map<string, Family>();
  private durations = new Map<string, { buckets: number[]; sum: number; count: number }>();
  readonly startedAt = Date.now();

  constructor() {
    // Unlabelled counters exist from the start, so a rate() over them has data from the first scrape.
    this.inc("warden_transactions_total", TX_HELP, {}, 0);
    this.inc("warden_webhook_deliveries_total", WEBHOOK_HELP, {}, 0);
    this.inc("warden_deliveries_enqueued_total", ENQUEUED_HELP, {}, 0);
    this.inc("warden_deliveries_dequeued_total", DEQUEUED_HELP, {}, 0);
  }

  private family(name: string, help: string, type: "counter" | "gauge") {
    let f = this.families.get(name);
    if (!f) this.families.set(name, (f = { help, type, series: new Map() }));
    return f;
  }

  inc(name: string, help: string, labels: Record<string, unknown> = {}, by = 1) {
    const f = this.family(name, help, "counter");
    let clean: Labels = Object.fromEntries(Object.entries(labels).map(([k, v]) => [k, labelValue(v)]));
    let key = JSON.stringify(clean);
    if (!f.series.has(key) && f.series.size >= MAX_SERIES) {
      clean = Object.fromEntries(Object.keys(clean).map((k) => [k, "other"]));
      key = JSON.stringify(clean);
    }
    const s = f.series.get(key);
    if (s) s.value += by;
    else f.series.set(key, { labels: clean, value: by });
  }

  /** Value of one counter series (tests). */
  get(name: string, labels: Record<string, unknown> = {}): number {
    const clean = Object.fromEntries(Object.entries(labels).map(([k, v]) => [k, labelValue(v)]));
    return this.families.get(name)?.series.get(JSON.stringify(clean))?.value ?? 0;
  }

  // ---- event sources ----

  httpRequest(server: "api" | "site", route: string, method: string | undefined, status: number, seconds: number) {
    this.inc("warden_http_requests_total", "HTTP requests answered, by server, route template, method and status.", {
      server,
      route,
      method: METHODS.has(method ?? "") ? method : "other",
      status,
    });
    let d = this.durations.get(server);
    if (!d) this.durations.set(server, (d = { buckets: DURATION_BUCKETS.map(() => 0), sum: 0, count: 0 }));
    DURATION_BUCKETS.forEach((b, i) => {
      if (seconds <= b) d.buckets[i]++;
    });
    d.sum += seconds;
    d.count++;
  }

  functionCall(kind: string, outcome: "ok" | "app_error" | "server_error" | "not_found") {
    this.inc(
      "warden_function_calls_total",
      "Client calls of Convex functions (WebSocket and /api), by kind and outcome.",
      { kind, outcome },
    );
  }

  connection(event: string, reason?: string) {
    this.inc("warden_ws_events_total", "WebSocket connection events.", { event });
    // Reasons may carry a detail after ":" (auth messages, socket codes); only the prefix is a label.
    if (event === "rejected")
      this.inc("warden_ws_rejections_total", "Refused or closed WebSocket connections, by reason.", {
        reason: (reason ?? "unknown").split(":")[0],
      });
  }

  /** Counts documents newly inserted into the root component's logs and queues. */
  commit(rec: CommitRecord) {
    const root = rec.components[""];
    if (!root) return;
    this.inc("warden_transactions_total", TX_HELP);
    const inserted = rec.inserted[""] ?? new Set<string>();
    // The upgrade's move of legacy log rows (convex/security/invocationLogMigration.ts) inserts old calls, not new ones.
    const movingLegacy = Object.entries(root.writes).some(
      ([id, doc]) => doc === null && tableNameFromId(id) === "skillInvocationLog",
    );
    for (const [id, doc] of Object.entries(root.writes)) {
      const table = tableNameFromId(id);
      if (doc === null) {
        if (table === "channelOutbox") this.inc("warden_deliveries_dequeued_total", DEQUEUED_HELP);
        continue;
      }
      if (!inserted.has(id)) continue;
      switch (table) {
        case "invocationLog":
          if (movingLegacy) break;
          this.inc(
            "warden_invocations_total",
            "Checked skill, MCP tool and webhook invocations, by target kind and outcome.",
            {
              target: doc.targetKind,
              outcome: doc.allowed ? "allowed" : "denied",
            },
          );
          if (!doc.allowed)
            this.inc("warden_denials_total", "Invocations the security checker denied, by target kind and code.", {
              target: doc.targetKind,
              code: doc.code,
            });
          break;
        case "securityEvents":
          this.inc("warden_security_events_total", "Security events, by category and code.", {
            category: doc.category,
            code: doc.code,
          });
          break;
        case "webhookDeliveries":
          this.inc("warden_webhook_deliveries_total", WEBHOOK_HELP);
          break;
        case "channelOutbox":
          this.inc("warden_deliveries_enqueued_total", ENQUEUED_HELP);
          break;
        case "activityLog":
          this.inc("warden_activity_events_total", "Activity log entries, by kind.", { kind: doc.kind });
          if (doc.kind === "channel.vendor_error")
            this.inc(
              "warden_delivery_failures_total",
              "Failed vendor sends of channel replies, by whether they are retried.",
              {
                retrying: doc.meta?.willRetry ? "true" : "false",
              },
            );
          break;
      }
    }
  }

  // ---- output ----

  render(gauges: Array<{ name: string; help: string; series: Array<[Labels, number]> }>): string {
    const out: string[] = [];
    for (const [name, f] of this.families) {
      out.push(`# HELP ${name} ${f.help}`, `# TYPE ${name} ${f.type}`);
      for (const s of f.series.values()) out.push(`${name}${fmtLabels(s.labels)} ${s.value}`);
    }
    if (this.durations.size) {
      const name = "warden_http_request_duration_seconds";
      out.push(`# HELP ${name} Time to answer HTTP requests, by server.`, `# TYPE ${name} histogram`);
      for (const [server, d] of this.durations) {
        DURATION_BUCKETS.forEach((b, i) =>
          out.push(`${name}_bucket${fmtLabels({ server, le: String(b) })} ${d.buckets[i]}`),
        );
        out.push(
          `${name}_bucket${fmtLabels({ server, le: "+Inf" })} ${d.count}`,
          `${name}_sum${fmtLabels({ server })} ${d.sum}`,
          `${name}_count${fmtLabels({ server })} ${d.count}`,
        );
      }
    }
    for (const g of gauges) {
      out.push(`# HELP ${g.name} ${g.help}`, `# TYPE ${g.name} gauge`);
      for (const [labels, v] of g.series)
        out.push(
          `${g.name}${fmtLabels(Object.fromEntries(Object.entries(labels).map(([k, x]) => [k, labelValue(x)])))} ${v}`,
        );
    }
    return out.join("\n") + "\n";
  }
}

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|::1|::ffff:127\.\d+\.\d+\.\d+)$/;
const FORWARDING = ["x-forwarded-for", "forwarded", "x-real-ip"];

/**
 * Who may read /metrics: with WARDEN_METRICS_TOKEN set, only `Authorization: Bearer <token>`;
 * without it, only a direct loopback connection (a request relayed by a local reverse proxy carries
 * forwarding headers and is refused).
 */
export function metricsAllowed(req: IncomingMessage, token: string | undefined): boolean {
  if (token) {
    const m = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? "");
    const h = (s: string) => createHash("sha256").update(s).digest();
    return !!m && timingSafeEqual(h(m[1]), h(token));
  }
  if (FORWARDING.some((k) => req.headers[k] !== undefined)) return false;
  return LOOPBACK.test(req.socket.remoteAddress ?? "");
}
