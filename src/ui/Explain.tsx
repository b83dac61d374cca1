/** Owner-facing explanation of an error code: what it means and what to do (src/lib/errors.ts `explain`). */
import { explain, fieldLabel } from "../lib/errors";

/** A disclosure under a code in a log row or detail page. */
export function ExplainCode({
  code,
  field,
  label = "What this means",
}: {
  code: string;
  field?: string;
  label?: string;
}) {
  if (code === "OK") return null;
  const e = explain(code);
  const f = fieldLabel(field);
  return (
    <details className="explain">
      <summary>{label}</summary>
      <p className="small mb0">{e.meaning}</p>
      {f ? (
        <p className="small mb0">
          Field: <strong>{f}</strong>
        </p>
      ) : null}
      <p className="small mb0">
        <strong>What to do:</strong> {e.todo}
      </p>
    </details>
  );
}

/** The explanation inline (no disclosure), for a single prominent code such as a server's last health failure. */
export function CodeExplained({ code }: { code: string }) {
  const e = explain(code);
  return (
    <span className="explained">
      <code>{code}</code> — {e.meaning} <span className="muted">What to do: {e.todo}</span>
    </span>
  );
}
