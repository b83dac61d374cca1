/** The approval inbox: calls the agent made on someone's behalf that wait for an owner, and the decided history. */
import { useState } from "react";
import { usePaginatedQuery } from "convex/react";
import { api } from "../../convex/_generated/api";
import type { Id } from "../../convex/_generated/dataModel";
import { AUDIENCE_LABEL, type Audience } from "../../convex/lib/agency";
import { useMutate } from "../lib/data";
import { dateTime, relative } from "../lib/format";
import { navigate, useSearch } from "../lib/router";
import { useCan } from "../auth/role";
import {
  Badge,
  Button,
  EmptyState,
  InlineError,
  Loading,
  Notice,
  PageHeader,
  Preview,
  RoleButton,
  Select,
} from "../ui/kit";

const PAGE = 25;

type Status = "pending" | "approved" | "denied" | "expired" | "executed";
type Decided = Exclude<Status, "pending">;
type Approval = {
  _id: Id<"toolApprovals">;
  toolLabel: string;
  targetKind: "skill" | "mcp";
  inputPreview: string;
  audience: Audience;
  reason: "grant_ask" | "tainted_side_effect";
  status: Status;
  createdAt: number;
  expiresAt: number;
  decidedAt?: number;
  resultCode?: string;
};

const DECIDED_TEXT: Record<Decided, string> = {
  executed: "Approved and ran",
  approved: "Approved, didn't run",
  denied: "Denied",
  expired: "Expired",
};
/** Who asked, in the singular. */
const ASKED_BY: Record<Audience, string> = {
  webVisitor: "A web visitor (/chat)",
  unknownSender: "An unknown channel sender",
  pairedSender: "A paired channel sender",
  ownerSender: "An owner (linked channel identity)",
};

const DECIDED_TONE: Record<Decided, "ok" | "warn" | "danger" | "neutral"> = {
  executed: "ok",
  approved: "warn",
  denied: "danger",
  expired: "neutral",
};

/** The reason a call waits, in words. */
export function reasonText(reason: Approval["reason"], audience: Audience): string {
  if (reason === "tainted_side_effect")
    return "This tool has side effects and untrusted content is already in the conversation, so it needs approval whatever its grant.";
  return `The grant for ${AUDIENCE_LABEL[audience].toLowerCase()} says "ask an owner".`;
}

function until(ms: number, now = Date.now()): string {
  const s = Math.round((ms - now) / 1000);
  if (s <= 0) return "now";
  if (s < 3600) return `in ${Math.max(1, Math.round(s / 60))} min`;
  return `in ${Math.round(s / 3600)} h`;
}

export function ApprovalsPage() {
  const canSee = useCan("admin");
  const search = useSearch();
  const tab = search.get("tab") === "decided" ? "decided" : "pending";
  return (
    <>
      <PageHeader
        title="Approvals"
        description="Tool calls the agent wanted to make for someone that need an owner's decision. Approving runs exactly the stored call through the security checker and sends the person the answer; denying sends them a polite refusal. Undecided calls expire after 24 hours."
      />
      <div className="tabs" role="group" aria-label="Show">
        <button
          type="button"
          aria-pressed={tab === "pending"}
          onClick={() => navigate("/approvals", { replace: true })}
        >
          Waiting
        </button>
        <button
          type="button"
          aria-pressed={tab === "decided"}
          onClick={() => navigate("/approvals?tab=decided", { replace: true })}
        >
          Decided
        </button>
      </div>
      {!canSee ? (
        <Notice>Only admins and owners can see the approval inbox.</Notice>
      ) : tab === "pending" ? (
        <Pending />
      ) : (
        <History />
      )}
    </>
  );
}

function Pending() {
  const { results, status, loadMore } = usePaginatedQuery(api.agency.approvals.list, {}, { initialNumItems: PAGE });
  const isOwner = useCan("owner");
  if (status === "LoadingFirstPage") return <Loading />;
  return (
    <>
      {!isOwner && results.length > 0 ? (
        <Notice>Only owners can approve or deny. You're seeing the inbox read-only.</Notice>
      ) : null}
      {results.length === 0 ? (
        <EmptyState title="Nothing waiting">
          When the agent needs an owner's approval to use a tool for someone, the call shows up here.
        </EmptyState>
      ) : (
        <ul className="approval-list" aria-label="Calls waiting for a decision">
          {results.map((a) => (
            <PendingItem key={a._id} a={a as Approval} />
          ))}
        </ul>
      )}
      {status === "CanLoadMore" ? (
        <div className="row mt2">
          <Button onClick={() => loadMore(PAGE)}>Load more</Button>
        </div>
      ) : null}
    </>
  );
}

function PendingItem({ a }: { a: Approval }) {
  const decide = useMutate(api.agency.approvals.decide);
  const [confirm, setConfirm] = useState(false);
  const kind = a.targetKind === "skill" ? "skill" : "MCP tool";
  return (
    <li className="card approval" data-approval={a.toolLabel}>
      <div className="approval-head">
        <h2>
          {a.toolLabel} <span className="small muted">· {kind}</span>
        </h2>
        <Badge tone="warn">waiting</Badge>
      </div>
      <dl className="kv">
        <div>
          <dt>Asked by</dt>
          <dd title={a.audience}>{ASKED_BY[a.audience]}</dd>
        </div>
        <div>
          <dt>Why</dt>
          <dd>{reasonText(a.reason, a.audience)}</dd>
        </div>
        <div>
          <dt>Input</dt>
          <dd>
            <Preview text={a.inputPreview} limit={400} />
            <span className="small muted">Redacted preview; the stored input runs unchanged.</span>
          </dd>
        </div>
        <div>
          <dt>Requested</dt>
          <dd>
            <span title={dateTime(a.createdAt)}>{relative(a.createdAt)}</span>
          </dd>
        </div>
        <div>
          <dt>Expires</dt>
          <dd>
            <span title={dateTime(a.expiresAt)}>{until(a.expiresAt)}</span>
          </dd>
        </div>
      </dl>
      {confirm ? (
        <div className="confirm-box" role="group" aria-label={`Confirm running ${a.toolLabel}`}>
          <p className="mb0">
            Run <strong>{a.toolLabel}</strong> now for {ASKED_BY[a.audience].toLowerCase()} with this input?
          </p>
          <pre className="code-block pre-wrap">{a.inputPreview || "(no input)"}</pre>
          <p className="small muted">
            It goes through every checker step (limits, allowlist, timeout, redaction); the result is sent to the person
            who asked.
          </p>
          <div className="row">
            <RoleButton
              need="owner"
              variant="primary"
              pending={decide.pending}
              onClick={() => void decide.run({ approvalId: a._id, approve: true })}
            >
              Yes, run it
            </RoleButton>
            <Button variant="ghost" onClick={() => setConfirm(false)}>
              Cancel
            </Button>
          </div>
        </div>
      ) : (
        <div className="row mt2">
          <RoleButton
            need="owner"
            variant="primary"
            onClick={() => setConfirm(true)}
            aria-label={`Approve ${a.toolLabel}`}
          >
            Approve…
          </RoleButton>
          <RoleButton
            need="owner"
            variant="danger"
            pending={decide.pending}
            onClick={() => void decide.run({ approvalId: a._id, approve: false })}
            aria-label={`Deny ${a.toolLabel}`}
          >
            Deny
          </RoleButton>
        </div>
      )}
      <InlineError error={decide.error} />
    </li>
  );
}

function History() {
  const [status, setStatus] = useState<Decided>("executed");
  const r = usePaginatedQuery(api.agency.approvals.list, { status }, { initialNumItems: PAGE });
  return (
    <>
      <div className="row mb2">
        <label htmlFor="approval-status">Outcome</label>
        <Select
          id="approval-status"
          className="input code-select"
          value={status}
          onChange={(e) => setStatus(e.target.value as Decided)}
        >
          {(Object.keys(DECIDED_TEXT) as Decided[]).map((s) => (
            <option key={s} value={s}>
              {DECIDED_TEXT[s]}
            </option>
          ))}
        </Select>
      </div>
      {r.status === "LoadingFirstPage" ? (
        <Loading />
      ) : r.results.length === 0 ? (
        <EmptyState title={`No calls: ${DECIDED_TEXT[status].toLowerCase()}`}>Pick another outcome above.</EmptyState>
      ) : (
        <div className="table-wrap stack-on-phone">
          <table>
            <caption className="sr-only">Decided approvals</caption>
            <thead>
              <tr>
                {["Tool", "Asked by", "Why", "Input (redacted)", "Requested", "Decided", "Outcome"].map((c) => (
                  <th scope="col" key={c}>
                    {c}
                  </th>
                ))}
              </tr>
            </thead>
            <tbody>
              {r.results.map((x) => {
                const a = x as Approval;
                const st = a.status as Decided;
                return (
                  <tr key={a._id} data-approval={a.toolLabel}>
                    <th scope="row">
                      <strong>{a.toolLabel}</strong>
                      <span className="small muted block">{a.targetKind === "skill" ? "Skill" : "MCP tool"}</span>
                    </th>
                    <td className="small" data-label="Asked by" title={a.audience}>
                      {ASKED_BY[a.audience]}
                    </td>
                    <td className="small" data-label="Why">
                      {a.reason === "tainted_side_effect" ? "Side effect after untrusted content" : "Grant says ask"}
                    </td>
                    <td data-label="Input">
                      <Preview text={a.inputPreview} />
                    </td>
                    <td className="nowrap small" data-label="Requested">
                      {dateTime(a.createdAt)}
                    </td>
                    <td className="nowrap small" data-label="Decided">
                      {a.decidedAt ? dateTime(a.decidedAt) : "—"}
                    </td>
                    <td data-label="Outcome">
                      <span>
                        <Badge tone={DECIDED_TONE[st]}>{DECIDED_TEXT[st]}</Badge>
                        {a.resultCode && !["OK", "DENIED", "EXPIRED"].includes(a.resultCode) ? (
                          <span className="small muted block" title="The checker's code">
                            {a.resultCode}
                          </span>
                        ) : null}
                      </span>
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      )}
      {r.status === "CanLoadMore" ? (
        <div className="row mt2">
          <Button onClick={() => r.loadMore(PAGE)}>Load more</Button>
        </div>
      ) : null}
    </>
  );
}
