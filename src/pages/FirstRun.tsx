/** The first-run checklist on the overview (workspaces/checklist:firstRun), shown until every step is done. */
import { api } from "../../convex/_generated/api";
import { useLoad } from "../lib/data";
import { Link } from "../lib/router";
import { Card } from "../ui/kit";
import "../ui/gate.css";

const STEPS: Record<string, { label: string; to: string; how: string }> = {
  provider: {
    label: "Choose a model provider",
    to: "/providers",
    how: "a real provider, or the offline one for testing",
  },
  skill: { label: "Approve a skill", to: "/skills", how: "create one from a template, review it, approve it" },
  channel: { label: "Enable a channel", to: "/channels", how: "Telegram, Slack, Discord, SMS/WhatsApp or email" },
  mcp: { label: "Connect an MCP client", to: "/mcp", how: "mint a client token, or approve an OAuth client" },
  grant: { label: "Review a tool grant", to: "/tool-access", how: "decide which visitors may use which tool" },
};

export function FirstRunChecklist() {
  const c = useLoad(api.workspaces.checklist.firstRun, {});
  if (c.status !== "ok" || c.data.done) return null;
  const left = c.data.steps.filter((s) => !s.done).length;
  return (
    <Card title="Finish setting up" id="first-run" className="mb2">
      <p className="small muted">
        {left} of {c.data.steps.length} steps left. This list disappears once all are done.
      </p>
      <ul className="checklist">
        {c.data.steps.map((s) => {
          const d = STEPS[s.key] ?? { label: s.key, to: "/", how: "" };
          return (
            <li key={s.key} className={s.done ? "done" : undefined}>
              <span className="tick" aria-hidden="true">
                {s.done ? "✓" : "○"}
              </span>
              <span>
                <span className="sr-only">{s.done ? "Done: " : "To do: "}</span>
                {s.done ? <span className="step-label">{d.label}</span> : <Link to={d.to}>{d.label}</Link>}
                {!s.done && d.how ? <span className="small muted"> — {d.how}</span> : null}
              </span>
            </li>
          );
        })}
      </ul>
    </Card>
  );
}
