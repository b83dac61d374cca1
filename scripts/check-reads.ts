/**
 * Static check for unbounded reads in convex/:
 *  - `.collect()` only on an index range bounded with `.eq(...)`, and never on a table that grows;
 *  - `.filter(...)` / `for await` over `ctx.db.query(...)` only after `.withIndex(...)`;
 *  - a query chain must end in take / first / unique / paginate / collect (bounded as above);
 *  - every query reads through an index (seed 002): a chain without `.withIndex(...)` scans the
 *    table in creation order. The few that are meant to (a walk over every workspace) are listed
 *    in FULL_SCAN_ALLOWED with the reason.
 */
import ts from "typescript";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";

export const GROWING_TABLES = new Set([
  "invocationLog",
  "skillInvocationLog", // legacy name, until the upgrade has moved its rows
  "securityEvents",
  "activityLog",
  "auditLog",
  "messages",
  "threads",
  "webhookDeliveries",
  "chatSessions",
  "channelUsers",
  "mcpSessions",
  "voiceSessions",
  "notifications",
  "invocationSummary",
  "skillInvocationSummary", // legacy name
  "securityEventSummary",
  "rateLimitHitSummary",
  "channelMessageSummary",
]);

/** "file:table" → why a scan of that table without an index is intended there. */
export const FULL_SCAN_ALLOWED: Record<string, string> = {};

export type Finding = { file: string; line: number; rule: string; text: string };

function files(dir: string, out: string[] = []): string[] {
  for (const e of readdirSync(dir)) {
    const p = join(dir, e);
    if (statSync(p).isDirectory()) {
      if (e !== "_generated" && e !== "node_modules") files(p, out);
    } else if (e.endsWith(".ts") && !e.endsWith(".test.ts") && !e.endsWith(".d.ts")) out.push(p);
  }
  return out;
}

/** The outermost expression of a method chain that contains `node`. */
function chainText(node: ts.Node, sf: ts.SourceFile): string {
  return node.getText(sf).replace(/\s+/g, " ");
}

function queryTable(text: string): string | null {
  const m = text.match(/\.query\(\s*["'`](\w+)["'`]\s*\)/);
  return m ? m[1] : null;
}

export function checkSource(file: string, source: string): Finding[] {
  const sf = ts.createSourceFile(file, source, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
  const out: Finding[] = [];
  const add = (node: ts.Node, rule: string) =>
    out.push({
      file,
      line: sf.getLineAndCharacterOfPosition(node.getStart(sf)).line + 1,
      rule,
      text: chainText(node, sf).slice(0, 160),
    });

  const visit = (node: ts.Node) => {
    if (ts.isCallExpression(node) && ts.isPropertyAccessExpression(node.expression)) {
      const method = node.expression.name.text;
      const receiver = chainText(node.expression.expression, sf);
      const isDbQuery = /\bdb\s*\.\s*query\(/.test(receiver) || /\.query\(\s*["'`]\w+["'`]\s*\)/.test(receiver);
      if (method === "collect" && isDbQuery) {
        const table = queryTable(receiver);
        if (table && GROWING_TABLES.has(table))
          add(node, `collect() on growing table ${table}: use take(n) or paginate`);
        else if (!/\.withIndex\(.*=>.*\.eq\(/.test(receiver))
          add(node, "collect() without an index-bounded range: use withIndex(..eq..) or take(n)");
      }
      if (method === "filter" && isDbQuery && !/\.withIndex\(/.test(receiver)) {
        add(node, "filter() on a query without withIndex");
      }
      const terminal = ["take", "first", "unique", "paginate", "collect"].includes(method);
      const table = isDbQuery ? queryTable(receiver) : null;
      if (
        terminal &&
        table &&
        !/\.withIndex\(|\.withSearchIndex\(/.test(receiver) &&
        !FULL_SCAN_ALLOWED[`${file.replace(/\\/g, "/")}:${table}`]
      ) {
        add(
          node,
          `query on ${table} without an index: use withIndex (or list it in FULL_SCAN_ALLOWED with the reason)`,
        );
      }
    }
    if (ts.isForOfStatement(node) && node.awaitModifier) {
      const text = chainText(node.expression, sf);
      if (/\.query\(/.test(text) && !/\.withIndex\(/.test(text))
        add(node.expression, "for await over a query without withIndex");
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return out;
}

export function checkTree(dir: string): Finding[] {
  return files(dir).flatMap((f) => checkSource(relative(process.cwd(), f), readFileSync(f, "utf8")));
}

if (process.argv[1]?.endsWith("check-reads.ts")) {
  const findings = checkTree(process.argv[2] ?? "convex");
  for (const f of findings) console.log(`${f.file}:${f.line}  ${f.rule}\n    ${f.text}`);
  console.log(`${findings.length} unbounded read(s)`);
  process.exit(findings.length ? 1 : 0);
}
