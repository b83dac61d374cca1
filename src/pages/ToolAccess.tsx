/** Tool access: the grant matrix (tools × audiences) and each tool's risk class. Owners edit; everyone else reads. */
import { useState } from "react";
import { api } from "../../convex/_generated/api";
import { AUDIENCES, AUDIENCE_LABEL, type Audience, type Policy, type RiskClass } from "../../convex/lib/agency";
import { useLoad, useMutate } from "../lib/data";
import { Link } from "../lib/router";
import { useCan } from "../auth/role";
import {
  Badge,
  Card,
  EmptyState,
  ErrorState,
  InlineError,
  Loading,
  Notice,
  PageHeader,
  RoleButton,
  Select,
} from "../ui/kit";

export const POLICY_TEXT: Record<Policy, string> = { deny: "Deny", ask: "Ask an owner", allow: "Allow" };
export const RISK_TEXT: Record<RiskClass, string> = {
  local: "Local / read-only",
  openWorld: "Reads open-world content",
  sideEffect: "Side effects",
};
const RISK_HELP: Record<RiskClass, string> = {
  local: "Works only with its input and Warden's own data.",
  openWorld: "Fetches pages, feeds or mail: its results are untrusted and taint the conversation.",
  sideEffect: "Writes, sends, or carries data to another host.",
};

type ToolRow = {
  toolRef: string;
  kind: "skill" | "mcp";
  label: string;
  policies: Record<Audience, Policy>;
  explicit: Audience[];
  riskClass: RiskClass;
  riskConfirmed: boolean;
  /** from an MCP server's tool annotations: a hint for the owner, never applied on its own */
  suggestedRisk?: RiskClass;
};

export function ToolAccessPage() {
  const matrix = useLoad(api.agency.grants.list, {});
  const isOwner = useCan("owner");
  return (
    <>
      <PageHeader
        title="Tool access"
        description="Who the agent may use each tool for. The agent is offered only the tools the current audience may use, and every call is checked again when it runs."
      />
      <div className="stack">
        <Card title="How it works">
          <ul className="explain">
            <li>
              <strong>Defaults:</strong> web visitors and unknown channel senders are denied every tool; paired channel
              senders need an owner's approval for each call; owners (their own linked channel identity) may use every
              tool.
            </li>
            <li>
              <strong>Ask an owner:</strong> the call waits in the <Link to="/approvals">Approvals</Link> inbox; the
              person gets the answer once an owner approves, or a polite refusal if it is denied or expires.
            </li>
            <li>
              <strong>Taint rule:</strong> once untrusted content is in a conversation (a message from a web visitor or
              unknown sender, an email, the result of any tool not classified as local, or MCP tool descriptions, which
              a third party wrote), every later call to a side-effect tool needs an owner's approval, even where the
              grant says Allow.
            </li>
          </ul>
        </Card>
        {!isOwner ? <Notice>Only owners can change tool access. You're seeing it read-only.</Notice> : null}
        {matrix.status === "loading" ? <Loading /> : null}
        {matrix.status === "error" ? <ErrorState error={matrix.error} /> : null}
        {matrix.status === "ok" && matrix.data.tools.length === 0 ? (
          <EmptyState title="No tools yet">
            Approved <Link to="/skills">skills</Link> and tools of approved <Link to="/mcp">MCP servers</Link> appear
            here.
          </EmptyState>
        ) : null}
        {matrix.status === "ok" && matrix.data.tools.length > 0 ? (
          <Matrix tools={matrix.data.tools as ToolRow[]} defaults={matrix.data.defaults} />
        ) : null}
      </div>
    </>
  );
}

function Matrix({ tools, defaults }: { tools: ToolRow[]; defaults: Record<Audience, Policy> }) {
  return (
    <div className="table-wrap grant-matrix stack-on-phone">
      <table>
        <caption className="sr-only">Tool grants per audience</caption>
        <thead>
          <tr>
            <th scope="col">Tool</th>
            <th scope="col">Risk class</th>
            {AUDIENCES.map((a) => (
              <th scope="col" key={a} title={a}>
                {AUDIENCE_LABEL[a]}
                <span className="th-sub">default: {POLICY_TEXT[defaults[a]].toLowerCase()}</span>
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {tools.map((t) => (
            <ToolGrantRow key={t.toolRef} t={t} />
          ))}
        </tbody>
      </table>
    </div>
  );
}

function ToolGrantRow({ t }: { t: ToolRow }) {
  const set = useMutate(api.agency.grants.set);
  const isOwner = useCan("owner");
  const [savedAt, setSavedAt] = useState<string | null>(null);
  const save = async (args: { audience?: Audience; policy?: Policy; riskClass?: RiskClass }, what: string) => {
    setSavedAt(null);
    const r = await set.run({ toolRef: t.toolRef, ...args });
    if (r.ok) setSavedAt(what);
  };
  const kind = t.kind === "skill" ? "Skill" : "MCP tool";
  return (
    <tr data-tool={t.label}>
      <th scope="row" className="tool-cell">
        <strong>{t.label}</strong>
        <span className="small muted block">{kind}</span>
        {set.error ? <InlineError error={set.error} /> : null}
        {savedAt ? (
          <span className="small ok-text block" role="status">
            Saved {savedAt}.
          </span>
        ) : null}
      </th>
      <td data-label="Risk class">
        {isOwner ? (
          <>
            <label className="sr-only" htmlFor={`risk-${t.toolRef}`}>
              Risk class of {t.label}
            </label>
            <Select
              id={`risk-${t.toolRef}`}
              className="input cell-select"
              value={t.riskClass}
              title={RISK_HELP[t.riskClass]}
              onChange={(e) => void save({ riskClass: e.target.value as RiskClass }, "risk class")}
            >
              {(Object.keys(RISK_TEXT) as RiskClass[]).map((r) => (
                <option key={r} value={r}>
                  {RISK_TEXT[r]}
                </option>
              ))}
            </Select>
          </>
        ) : (
          <span title={RISK_HELP[t.riskClass]}>{RISK_TEXT[t.riskClass]}</span>
        )}
        <div className="cell-meta">
          {t.riskConfirmed ? (
            <Badge tone="ok" title="An owner confirmed this class">
              confirmed
            </Badge>
          ) : (
            <>
              <Badge
                tone="warn"
                title="Nobody has confirmed this class yet; it was derived from the tool's configuration"
              >
                default
              </Badge>
              {isOwner ? (
                <RoleButton
                  need="owner"
                  variant="ghost"
                  className="btn-small"
                  pending={set.pending}
                  onClick={() => void save({ riskClass: t.riskClass }, "risk class")}
                  aria-label={`Confirm the risk class of ${t.label}`}
                >
                  Confirm
                </RoleButton>
              ) : null}
            </>
          )}
        </div>
        {!t.riskConfirmed && t.suggestedRisk && t.suggestedRisk !== t.riskClass ? (
          <p className="small muted mb0" title="From the server's own tool annotations; a server can claim anything">
            The server describes it as: {RISK_TEXT[t.suggestedRisk].toLowerCase()}
          </p>
        ) : null}
      </td>
      {AUDIENCES.map((a) => {
        const explicit = t.explicit.includes(a);
        const p = t.policies[a];
        return (
          <td key={a} data-label={AUDIENCE_LABEL[a]}>
            {isOwner ? (
              <>
                <label className="sr-only" htmlFor={`grant-${t.toolRef}-${a}`}>
                  {t.label}: {AUDIENCE_LABEL[a]}
                </label>
                <Select
                  id={`grant-${t.toolRef}-${a}`}
                  className={`input cell-select policy-${p}`}
                  value={p}
                  onChange={(e) =>
                    void save(
                      { audience: a, policy: e.target.value as Policy },
                      `for ${AUDIENCE_LABEL[a].toLowerCase()}`,
                    )
                  }
                >
                  {(Object.keys(POLICY_TEXT) as Policy[]).map((x) => (
                    <option key={x} value={x}>
                      {POLICY_TEXT[x]}
                    </option>
                  ))}
                </Select>
              </>
            ) : (
              <span className={`policy-text policy-${p}`}>{POLICY_TEXT[p]}</span>
            )}
            <div className="cell-meta small muted">{explicit ? "set by an owner" : "default"}</div>
          </td>
        );
      })}
    </tr>
  );
}
