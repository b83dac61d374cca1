// Runs convex/crons.ts on real time (convex-test ignores crons). All schedule kinds are supported;
// calendar schedules are evaluated in UTC with cron-parser. A job is skipped while its previous run
// is still going, and state is not persisted (the next run is computed from the start time).
import { CronExpressionParser } from "cron-parser";

export type Schedule =
  | { type: "interval"; seconds?: number; minutes?: number; hours?: number }
  | { type: "cron"; cron: string }
  | { type: "hourly"; minuteUTC?: number }
  | { type: "daily"; hourUTC: number; minuteUTC?: number }
  | { type: "weekly"; dayOfWeek: string; hourUTC: number; minuteUTC?: number }
  | { type: "monthly"; day: number; hourUTC: number; minuteUTC?: number };
export type CronSpec = { name: string; args: unknown[]; schedule: Schedule };

const DAYS = ["sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday"];

export function intervalMs(s: Schedule & { type: "interval" }): number {
  const ms = (s.seconds ?? 0) * 1000 + (s.minutes ?? 0) * 60_000 + (s.hours ?? 0) * 3_600_000;
  if (!(ms > 0)) throw new Error(`invalid interval schedule ${JSON.stringify(s)}`);
  return ms;
}

/** The cron expression (UTC) equivalent to a calendar schedule. */
export function cronExpression(s: Exclude<Schedule, { type: "interval" }>): string {
  const m = "minuteUTC" in s && s.minuteUTC !== undefined ? s.minuteUTC : 0;
  switch (s.type) {
    case "cron":
      return s.cron;
    case "hourly":
      return `${m} * * * *`;
    case "daily":
      return `${m} ${s.hourUTC} * * *`;
    case "weekly": {
      const d = DAYS.indexOf(s.dayOfWeek.toLowerCase());
      if (d < 0) throw new Error(`invalid dayOfWeek ${s.dayOfWeek}`);
      return `${m} ${s.hourUTC} * * ${d}`;
    }
    case "monthly":
      return `${m} ${s.hourUTC} ${s.day} * *`;
  }
}

/** Next run strictly after `from` (interval schedules: one interval after `from`). */
export function nextRun(s: Schedule, from: Date): Date {
  if (s.type === "interval") return new Date(from.getTime() + intervalMs(s));
  return CronExpressionParser.parse(cronExpression(s), { currentDate: from, tz: "UTC" }).next().toDate();
}

export class CronRunner {
  private timers = new Map<string, NodeJS.Timeout>();
  private running = new Set<string>();
  private stopped = false;

  constructor(
    private readonly crons: Record<string, CronSpec>,
    private readonly run: (udfPath: string, args: Record<string, unknown>) => Promise<unknown>,
    private readonly log: (msg: string) => void,
  ) {}

  start(now = new Date()) {
    for (const [id, spec] of Object.entries(this.crons)) {
      try {
        nextRun(spec.schedule, now); // validate early
        this.arm(id, spec, now);
      } catch (e) {
        this.log(`cron "${id}" not scheduled: ${e instanceof Error ? e.message : e}`);
      }
    }
  }

  names() {
    return Object.keys(this.crons);
  }

  private arm(id: string, spec: CronSpec, from: Date) {
    if (this.stopped) return;
    const at = nextRun(spec.schedule, from);
    const delay = Math.min(Math.max(at.getTime() - Date.now(), 0), 2 ** 31 - 1);
    const timer = setTimeout(() => void this.fire(id, spec, at), delay);
    timer.unref();
    this.timers.set(id, timer);
  }

  private async fire(id: string, spec: CronSpec, at: Date) {
    if (this.stopped) return;
    this.arm(id, spec, new Date(Math.max(Date.now(), at.getTime())));
    if (this.running.has(id)) {
      this.log(`cron "${id}" skipped: previous run still in progress`);
      return;
    }
    this.running.add(id);
    try {
      await this.run(spec.name, (spec.args?.[0] ?? {}) as Record<string, unknown>);
    } catch (e) {
      this.log(`cron "${id}" (${spec.name}) failed: ${e instanceof Error ? e.message : e}`);
    } finally {
      this.running.delete(id);
    }
  }

  stop() {
    this.stopped = true;
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
  }
}
