/**
 * Approval as a gate: approving a skill or an MCP server opens a confirmation that shows what it
 * will allow (domains, secrets by name, limits; a code skill's source or its diff since the last
 * approval), the workspace's two-person rule and who made the change. The server decides; a
 * refused self-approval comes back as `{ refused: "TWO_PERSON_RULE" }` and is shown here.
 * Rejecting asks for a confirmation too.
 */
import { useEffect, useRef, useState, type ReactNode } from "react";
import { api } from "../../convex/_generated/api";
import type { Id } from "../../convex/_generated/dataModel";
import { useLoad, useMutate } from "../lib/data";
import { friendly, type ErrorInfo } from "../lib/errors";
import { bytes, dateTime } from "../lib/format";
import { lineDiff } from "../lib/lineDiff";
import { useCan } from "../auth/role";
import { Button, InlineError, KeyValue, Loading, Notice, RoleButton } from "./kit";
import { toast } from "./Toast";
import "./gate.css";

/** A modal dialog (native <dialog>: focus trapped, Escape closes, focus returns to the opener). */
function Modal({
  open,
  onClose,
  title,
  children,
  id,
}: {
  open: boolean;
  onClose: () => void;
  title: string;
  children: ReactNode;
  id: string;
}) {
  const ref = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    const d = ref.current;
    if (!d) return;
    if (open && !d.open) d.showModal();
    if (!open && d.open) d.close();
  }, [open]);
  return (
    <dialog ref={ref} className="gate-dialog" aria-labelledby={`${id}-title`} onClose={onClose} onCancel={onClose}>
      {open ? (
        <>
          <h2 id={`${id}-title`} className="gate-title">
            {title}
          </h2>
          {children}
        </>
      ) : null}
    </dialog>
  );
}

function List({ items, empty, label }: { items: string[]; empty: string; label: string }) {
  if (items.length === 0) return <span className="muted">{empty}</span>;
  return (
    <ul className="chips" aria-label={label}>
      {items.map((x) => (
        <li key={x} className="chip mono">
          {x}
        </li>
      ))}
    </ul>
  );
}

function TwoPerson({ on, editor, self, kind }: { on: boolean; editor: string | null; self: boolean; kind: string }) {
  if (!on) return null;
  if (self)
    return (
      <Notice tone="danger" title="Two-person rule: you can't approve your own change">
        You {kind === "server" ? "registered this server" : "made the latest change to this skill"}. Another admin or
        owner has to review and approve it; the server refuses it from you.
      </Notice>
    );
  return (
    <Notice tone="info" title="Two-person rule is on">
      {editor ? (
        <>
          {kind === "server" ? "Registered" : "Last changed"} by <strong>{editor}</strong>. You are the second person
          reviewing it.
        </>
      ) : (
        <>Changed by a deploy, not by a person in this workspace: any admin may approve it.</>
      )}
    </Notice>
  );
}

function SourceDiff({
  source,
  approvedSource,
  approvedAt,
}: {
  source: string | null;
  approvedSource: string | null;
  approvedAt: number | null;
}) {
  if (source === null)
    return <Notice tone="danger">The module isn't in this deployment, so it can't run or be approved.</Notice>;
  if (approvedSource === null)
    return (
      <>
        <h3 className="mt2">Source (first approval)</h3>
        <p className="small muted">
          No earlier approval was stored for this skill, so here is the whole source as deployed.
        </p>
        <pre className="code-block gate-source" tabIndex={0} aria-label="Source as deployed">
          {source}
        </pre>
      </>
    );
  const diff = lineDiff(approvedSource, source);
  const changed = diff.filter((l) => l.op !== " ").length;
  return (
    <>
      <h3 className="mt2">Changes since the last approval{approvedAt ? ` (${dateTime(approvedAt)})` : ""}</h3>
      {changed === 0 ? (
        <p className="small muted">The source is unchanged since the last approval.</p>
      ) : (
        <p className="small muted">
          {diff.filter((l) => l.op === "+").length} line(s) added, {diff.filter((l) => l.op === "-").length} removed.
        </p>
      )}
      <pre className="code-block gate-source gate-diff" tabIndex={0} aria-label="Source diff since the last approval">
        {diff.map((l, i) => (
          <span key={i} className={l.op === "+" ? "diff-add" : l.op === "-" ? "diff-del" : undefined}>
            {l.op === "+" ? (
              <span className="sr-only">added: </span>
            ) : l.op === "-" ? (
              <span className="sr-only">removed: </span>
            ) : null}
            {`${l.op} ${l.text}\n`}
          </span>
        ))}
      </pre>
    </>
  );
}

function refusal(v: unknown): ErrorInfo | null {
  return v && typeof v === "object" && "refused" in v ? { code: String((v as { refused: string }).refused) } : null;
}

/** The confirm step of an approval: a refusal (two-person rule) is shown; success toasts and closes. */
function useApproveConfirm(run: () => Promise<{ ok: true; value: unknown } | { ok: false }>, onDone: () => void) {
  const [refused, setRefused] = useState<ErrorInfo | null>(null);
  const confirm = async (name: string) => {
    setRefused(null);
    const r = await run();
    if (!r.ok) return;
    const no = refusal(r.value);
    if (no) setRefused(no);
    else {
      toast(`${name} approved.`);
      onDone();
    }
  };
  return { refused, confirm };
}

/** The button that opens a gate, and the gate; its body is mounted only while open. */
function GateButton({
  label,
  ariaLabel,
  title,
  id,
  variant = "primary",
  className,
  children,
}: {
  label: string;
  ariaLabel: string;
  title: string;
  id: string;
  variant?: "primary" | "danger";
  className?: string;
  children: (close: () => void) => ReactNode;
}) {
  const [open, setOpen] = useState(false);
  const close = () => setOpen(false);
  return (
    <>
      <RoleButton
        need="admin"
        variant={variant}
        className={className}
        onClick={() => setOpen(true)}
        aria-label={ariaLabel}
        aria-haspopup="dialog"
      >
        {label}
      </RoleButton>
      <Modal open={open} onClose={close} title={title} id={id}>
        {open ? children(close) : null}
      </Modal>
    </>
  );
}

/** A gate's last lines: the server's refusal, the call's error, confirm and cancel. */
function GateActions({
  refused = null,
  error,
  pending,
  disabled,
  variant = "primary",
  label,
  onConfirm,
  onCancel,
}: {
  refused?: ErrorInfo | null;
  error?: ErrorInfo | null;
  pending?: boolean;
  disabled?: boolean;
  variant?: "primary" | "danger";
  label: string;
  onConfirm: () => void;
  onCancel: () => void;
}) {
  return (
    <>
      {refused ? (
        <p className="inline-error" role="alert">
          {friendly(refused.code)} <code>{refused.code}</code>
        </p>
      ) : null}
      <InlineError error={error} />
      <div className="row gate-actions">
        <Button variant={variant} pending={pending} disabled={disabled} onClick={onConfirm}>
          {label}
        </Button>
        <Button variant="ghost" onClick={onCancel}>
          Cancel
        </Button>
      </div>
    </>
  );
}

export function SkillApproveButton({
  skill,
  className,
}: {
  skill: { _id: Id<"skillRegistry">; name: string };
  className?: string;
}) {
  return (
    <GateButton
      label="Approve"
      ariaLabel={`Approve ${skill.name}`}
      title={`Approve ${skill.name}?`}
      id={`approve-${skill._id}`}
      className={className}
    >
      {(close) => <SkillApproveBody skillId={skill._id} onDone={close} />}
    </GateButton>
  );
}

function SkillApproveBody({ skillId, onDone }: { skillId: Id<"skillRegistry">; onDone: () => void }) {
  const info = useLoad(api.skills.review.reviewInfo, { skillId });
  const approve = useMutate(api.skills.registry.approve, { toast: false });
  const { refused, confirm } = useApproveConfirm(() => approve.run({ skillId }), onDone);
  if (info.status === "loading") return <Loading />;
  if (info.status === "error") return <InlineError error={info.error} />;
  const s = info.data;
  return (
    <div className="gate-body">
      <p>
        Approving lets the agent and MCP clients call this skill, always through the security checker, within exactly
        these permissions:
      </p>
      <KeyValue
        items={[
          ["May contact", <List items={s.allowedDomains} empty="No network access" label="Domains it may contact" />],
          ["Scheme", s.allowHttp ? "https and plain http" : "https only"],
          ...(s.urlTemplate
            ? ([["URL", <code className="wrap-anywhere">{s.urlTemplate}</code>]] as [ReactNode, ReactNode][])
            : []),
          ["Secrets it can read", <List items={s.secretNames} empty="None" label="Secrets it can read" />],
          [
            "Rate limit",
            `${s.rate.perMinute} calls per minute${s.rate.source === "workspace" ? " (workspace default)" : ""}`,
          ],
          ["Timeout", `${s.timeoutMs.toLocaleString("en-US")} ms`],
          ["Max output", bytes(s.maxOutputBytes)],
        ]}
      />
      {s.code ? (
        <SourceDiff source={s.code.source} approvedSource={s.code.approvedSource} approvedAt={s.code.approvedAt} />
      ) : null}
      {s.code && s.code.source !== null && !s.code.deployed ? (
        <Notice tone="warn">
          The registry hasn't caught up with this deploy yet; approval is refused until the next catalogue sync (within
          a minute).
        </Notice>
      ) : null}
      <TwoPerson on={s.twoPersonRule} editor={s.lastEditor} self={s.selfApproval} kind="skill" />
      <GateActions
        refused={refused}
        error={approve.error}
        pending={approve.pending}
        disabled={s.selfApproval}
        label="Approve and allow"
        onConfirm={() => void confirm(s.name)}
        onCancel={onDone}
      />
    </div>
  );
}

export function McpApproveButton({
  server,
  className,
}: {
  server: { _id: Id<"mcpServers">; name: string };
  className?: string;
}) {
  return (
    <GateButton
      label="Approve"
      ariaLabel={`Approve ${server.name}`}
      title={`Approve MCP server ${server.name}?`}
      id={`approve-${server._id}`}
      className={className}
    >
      {(close) => <McpApproveBody serverId={server._id} onDone={close} />}
    </GateButton>
  );
}

function McpApproveBody({ serverId, onDone }: { serverId: Id<"mcpServers">; onDone: () => void }) {
  const info = useLoad(api.mcp.outbound.review.approvalInfo, { serverId });
  const approve = useMutate(api.mcp.outbound.servers.approve, { toast: false });
  const { refused, confirm } = useApproveConfirm(() => approve.run({ serverId }), onDone);
  if (info.status === "loading") return <Loading />;
  if (info.status === "error") return <InlineError error={info.error} />;
  const s = info.data;
  return (
    <div className="gate-body">
      <p>
        Approving lets Warden contact this server, list its tools and call them for the agent and MCP clients, through
        the security checker:
      </p>
      <KeyValue
        items={[
          ["Will contact", <code className="wrap-anywhere">{s.url}</code>],
          [
            "Sends",
            s.authHeaderName ? (
              <>
                header <code>{s.authHeaderName}</code> from the secret AUTH_HEADER{" "}
                {s.authSecretSet ? "(set)" : <strong>(not set yet)</strong>}
              </>
            ) : (
              "no credentials"
            ),
          ],
          [
            "Rate limit",
            `${s.rate.perMinute} calls per minute${s.rate.source === "workspace" ? " (workspace default)" : ""}`,
          ],
          ["Timeout", `${s.timeoutMs.toLocaleString("en-US")} ms`],
          ["Max output", bytes(s.maxOutputBytes)],
        ]}
      />
      <Notice tone="warn" title="Tools">
        The first listing after approval approves every tool the server offers; deny the ones you don't want on the
        server's page. A tool that later changes its description or schema is blocked until you approve it again.
      </Notice>
      <TwoPerson on={s.twoPersonRule} editor={s.registeredBy} self={s.selfApproval} kind="server" />
      <GateActions
        refused={refused}
        error={approve.error}
        pending={approve.pending}
        disabled={s.selfApproval}
        label="Approve and connect"
        onConfirm={() => void confirm(s.name)}
        onCancel={onDone}
      />
    </div>
  );
}

/**
 * Approving one MCP tool (or re-approving a changed one): the dialog shows what the agent and MCP
 * clients may then call — the tool's current description and input schema, which its approval pins.
 */
export function McpToolApproveButton({
  tool,
  serverName,
  changed,
  className,
}: {
  tool: McpToolToApprove;
  serverName: string;
  changed: boolean;
  className?: string;
}) {
  const verb = changed ? "Re-approve" : "Approve";
  return (
    <GateButton
      label={verb}
      ariaLabel={`${verb} tool ${tool.name}`}
      title={`${verb} tool ${tool.name}?`}
      id={`approve-tool-${tool._id}`}
      className={className}
    >
      {(close) => (
        <McpToolApproveBody tool={tool} serverName={serverName} verb={verb} changed={changed} onDone={close} />
      )}
    </GateButton>
  );
}

type McpToolToApprove = { _id: Id<"mcpTools">; name: string; description: string; inputSchema: unknown };

function McpToolApproveBody({
  tool,
  serverName,
  verb,
  changed,
  onDone,
}: {
  tool: McpToolToApprove;
  serverName: string;
  verb: string;
  changed: boolean;
  onDone: () => void;
}) {
  const setTool = useMutate(api.mcp.outbound.servers.setToolStatus, { toast: false });
  const approve = async () => {
    const r = await setTool.run({ toolId: tool._id, status: "approved" });
    if (!r.ok) return;
    toast(`${serverName}/${tool.name} approved.`);
    onDone();
  };
  return (
    <div className="gate-body">
      {changed ? (
        <Notice tone="warn" title="This tool changed since it was approved">
          Its description or input schema is not the one you approved. Read both before approving again; until then the
          tool cannot be called.
        </Notice>
      ) : null}
      <p>
        Approving lets the agent and MCP clients call <code>{tool.name}</code> on <strong>{serverName}</strong>, through
        the security checker (the server's rate limit, timeout and output cap; the audience's grants). This description
        and schema are pinned: if the server changes them, the tool is blocked again.
      </p>
      <KeyValue
        items={[["Description", <span className="wrap-anywhere">{tool.description.slice(0, 2000) || "(none)"}</span>]]}
      />
      <details open>
        <summary className="small">Input schema</summary>
        <pre className="code-block">{JSON.stringify(tool.inputSchema, null, 2)}</pre>
      </details>
      <GateActions
        error={setTool.error}
        pending={setTool.pending}
        label={`${verb} tool`}
        onConfirm={() => void approve()}
        onCancel={onDone}
      />
    </div>
  );
}

/** Reject with a confirmation. */
export function RejectButton({
  name,
  what,
  className,
  pending,
  onConfirm,
}: {
  name: string;
  what: string;
  className?: string;
  pending?: boolean;
  onConfirm: () => Promise<unknown>;
}) {
  return (
    <GateButton
      label="Reject"
      ariaLabel={`Reject ${name}`}
      title={`Reject ${name}?`}
      id={`reject-${name}`}
      variant="danger"
      className={className}
    >
      {(close) => (
        <div className="gate-body">
          <p>{what}</p>
          <GateActions
            variant="danger"
            pending={pending}
            label="Reject"
            onConfirm={() => void onConfirm().then(close)}
            onCancel={close}
          />
        </div>
      )}
    </GateButton>
  );
}

/** Owners turn the two-person rule on or off (Owners & roles). */
export function TwoPersonRuleCard() {
  const policy = useLoad(api.workspaces.policy.get, {});
  const set = useMutate(api.workspaces.policy.setTwoPersonRule, { toast: false });
  const canOwner = useCan("owner");
  if (policy.status !== "ok") return policy.status === "error" ? <InlineError error={policy.error} /> : <Loading />;
  const on = policy.data.twoPersonRule;
  return (
    <div>
      <p className="small muted">
        With the two-person rule on, whoever created or last changed a skill — or registered an MCP server — can't
        approve it; another admin or owner has to. The server enforces it and the audit log records every refused
        attempt. Changes made by a deploy (code skills) can be approved by any admin.
      </p>
      <label className="row gate-toggle">
        <input
          type="checkbox"
          checked={on}
          disabled={!canOwner || set.pending}
          onChange={(e) =>
            void set
              .run({ on: e.target.checked })
              .then((r) => r.ok && toast(e.target.checked ? "Two-person rule on." : "Two-person rule off."))
          }
        />
        <span>Require a second person to approve skills and MCP servers</span>
      </label>
      {!canOwner ? <p className="small muted">Only owners can change this.</p> : null}
      {on && policy.data.approvers < 2 ? (
        <Notice tone="warn">
          This workspace has only one active admin or owner, so nobody can approve their own changes. Invite a second
          admin first.
        </Notice>
      ) : null}
      <InlineError error={set.error} />
    </div>
  );
}
