/**
 * "Test this skill": an admin runs an approved skill with sample input through the security checker
 * (skills/test:run, caller kind owner-test — not an agent run, so audience grants don't apply; every
 * other check and the rate limits do) and sees the invocation-log row the checker wrote.
 */
import { useState, type FormEvent } from "react";
import { api } from "../../../convex/_generated/api";
import type { Doc } from "../../../convex/_generated/dataModel";
import { useAct } from "../../lib/data";
import { friendly } from "../../lib/errors";
import { bytes, dateTime } from "../../lib/format";
import { Link } from "../../lib/router";
import { useCan } from "../../auth/role";
import { ExplainCode } from "../../ui/Explain";
import { Badge, Card, Field, InlineError, KeyValue, RoleButton, TextArea } from "../../ui/kit";

/** A sample input from the schema: each property's example/default, else a placeholder of its type. */
export function sampleInput(schema: unknown): string {
  const s = (schema ?? {}) as {
    properties?: Record<
      string,
      { type?: string | string[]; default?: unknown; examples?: unknown[]; enum?: unknown[] }
    >;
  };
  const out: Record<string, unknown> = {};
  for (const [k, p] of Object.entries(s.properties ?? {})) {
    const type = Array.isArray(p.type) ? p.type[0] : p.type;
    out[k] =
      p.examples?.[0] ??
      p.default ??
      p.enum?.[0] ??
      (k === "expression"
        ? "2 + 3 * 4"
        : k === "zone"
          ? "Europe/Berlin"
          : type === "number" || type === "integer"
            ? 1
            : type === "boolean"
              ? true
              : type === "array"
                ? []
                : type === "object"
                  ? {}
                  : "example");
  }
  return JSON.stringify(out, null, 2);
}

export function TestSkillPanel({ skill }: { skill: Doc<"skillRegistry"> }) {
  const canAdmin = useCan("admin");
  const run = useAct(api.skills.test.run);
  const [input, setInput] = useState(() => sampleInput(skill.inputSchema));
  const [jsonError, setJsonError] = useState<string | null>(null);
  const [result, setResult] = useState<Awaited<ReturnType<typeof run.run>> | null>(null);
  if (skill.status !== "approved") return null;
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    let parsed: unknown;
    try {
      parsed = JSON.parse(input);
      setJsonError(null);
    } catch {
      setJsonError("This isn't valid JSON.");
      return;
    }
    setResult(await run.run({ skillId: skill._id, input: parsed }));
  };
  const r = result?.ok ? result.value : null;
  const row = r?.row ?? null;
  return (
    <Card title="Test this skill">
      <p className="small muted">
        Runs the skill once with this input through the security checker — approval, input schema, rate limits, allowed
        domains, timeout, output cap and redaction — and shows the log row it wrote. A test is logged as{" "}
        <em>Test by you</em> and counts against the skill's rate limit. It isn't an agent run, so the per-audience
        grants under Tool access don't apply.
      </p>
      {canAdmin ? (
        <form onSubmit={submit} noValidate>
          <Field label="Sample input (JSON)" hint="Must match the input schema above." error={jsonError ?? undefined}>
            {(p) => (
              <TextArea
                {...p}
                className="input mono"
                rows={4}
                value={input}
                onChange={(e) => setInput(e.target.value)}
                spellCheck={false}
              />
            )}
          </Field>
          <RoleButton need="admin" type="submit" variant="primary" pending={run.pending}>
            Run test
          </RoleButton>
        </form>
      ) : (
        <p className="small muted">Admins and owners can run a test.</p>
      )}
      <InlineError error={run.error} />
      {r ? (
        <div className="test-result mt2" role="status" aria-live="polite">
          <p className="row">
            {r.ok ? <Badge tone="ok">allowed · OK</Badge> : <Badge tone="danger">denied · {r.code}</Badge>}
            <span className="small">{r.ok ? "The skill ran." : friendly(r.code)}</span>
          </p>
          {!r.ok ? <ExplainCode code={r.code} /> : null}
          {row ? (
            <>
              <h3 className="mt2">Invocation log row</h3>
              <KeyValue
                items={[
                  ["When", dateTime(row.at)],
                  ["Caller", "Test by you (owner-test)"],
                  ["Outcome", <code>{row.code}</code>],
                  ["Time", `${row.durationMs} ms`],
                  ["Input (redacted)", <pre className="code-block">{row.inputPreview || "—"}</pre>],
                  ["Output (redacted)", <pre className="code-block">{row.outputPreview || "—"}</pre>],
                  ["Sizes", `${bytes(row.inputBytes)} in · ${bytes(row.outputBytes)} out`],
                ]}
              />
              <p className="small">
                <Link to={`/logs/invocations?target=${encodeURIComponent(skill.name)}&caller=owner-test`}>
                  Open in the invocation log
                </Link>
              </p>
            </>
          ) : null}
        </div>
      ) : null}
    </Card>
  );
}
