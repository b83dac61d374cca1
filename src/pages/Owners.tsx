import { useState, type FormEvent } from "react";
import { api } from "../../convex/_generated/api";
import type { Id } from "../../convex/_generated/dataModel";
import { useLoad, useMutate } from "../lib/data";
import { Link } from "../lib/router";
import { useCan, useSession, type Role } from "../auth/role";
import { TwoPersonRuleCard } from "../ui/ApprovalGate";
import {
  Badge,
  Button,
  Card,
  CopyButton,
  DataTable,
  EmptyState,
  ErrorState,
  Field,
  InlineError,
  Input,
  Loading,
  Notice,
  PageHeader,
  RoleButton,
  Select,
} from "../ui/kit";

const ROLE_HELP: Record<Role, string> = {
  owner: "everything, including owners, secrets and the agent",
  admin: "approve skills and MCP servers, edit limits, channels and allowlists",
  viewer: "read-only",
};

export function OwnersPage() {
  const isOwner = useCan("owner");
  return (
    <>
      <PageHeader title="Owners & roles" description="Who can sign in to this workspace, and what they may change." />
      <Card title="Roles">
        <ul className="list-plain">
          {(Object.keys(ROLE_HELP) as Role[]).map((r) => (
            <li key={r}>
              <Badge tone={r === "owner" ? "accent" : "neutral"}>{r}</Badge>{" "}
              <span className="small">{ROLE_HELP[r]}</span>
            </li>
          ))}
        </ul>
      </Card>
      <div className="mt2">
        <Card title="Two-person rule">
          <TwoPersonRuleCard />
        </Card>
      </div>
      <div className="mt2">
        {isOwner ? <OwnersList /> : <Notice>Only owners can see and manage the member list.</Notice>}
      </div>
      {isOwner ? (
        <div className="mt2">
          <ClerkOrgCard />
        </div>
      ) : null}
    </>
  );
}

function OwnersList() {
  const me = useSession();
  const owners = useLoad(api.owners.manage.list, {});
  const setRole = useMutate(api.owners.manage.setRole);
  const setActive = useMutate(api.owners.manage.setActive);
  const remove = useMutate(api.owners.manage.remove);
  return (
    <div className="stack">
      <Card title="Members">
        <p className="small muted">
          Changes here apply to this workspace only. People change their own password under{" "}
          <Link to="/account">Your account</Link>.
        </p>
        {owners.status === "loading" ? <Loading /> : null}
        {owners.status === "error" ? <ErrorState error={owners.error} /> : null}
        {owners.status === "ok" && owners.data.length === 0 ? (
          <EmptyState title="No members">Invite someone below.</EmptyState>
        ) : null}
        {owners.status === "ok" && owners.data.length > 0 ? (
          <DataTable columns={["Owner key", "Sign-in", "Role", "Status"]} actions>
            {owners.data.map((o) => {
              const self = o.ownerKey === me.ownerKey;
              return (
                <tr key={o.ownerId}>
                  <td>
                    <strong>{o.ownerKey}</strong> {self ? <span className="muted small">(you)</span> : null}
                  </td>
                  <td className="small">{o.invitePending ? "invite pending" : o.builtin ? "password" : "Clerk"}</td>
                  <td>
                    <label className="sr-only" htmlFor={`role-${o.ownerId}`}>
                      Role of {o.ownerKey}
                    </label>
                    <Select
                      id={`role-${o.ownerId}`}
                      value={o.role}
                      disabled={self}
                      onChange={(e) =>
                        void setRole.run({ ownerId: o.ownerId as Id<"owners">, role: e.target.value as Role })
                      }
                    >
                      <option value="owner">owner</option>
                      <option value="admin">admin</option>
                      <option value="viewer">viewer</option>
                    </Select>
                  </td>
                  <td>
                    {!o.active ? (
                      <Badge tone="danger">deactivated</Badge>
                    ) : !o.personActive ? (
                      <Badge tone="warn" title="The server operator disabled this account">
                        account disabled
                      </Badge>
                    ) : (
                      <Badge tone="ok">active</Badge>
                    )}
                  </td>
                  <td>
                    {self ? null : (
                      <div className="row">
                        <RoleButton
                          need="owner"
                          variant={o.active ? "danger" : "secondary"}
                          className="btn-small"
                          onClick={() => void setActive.run({ ownerId: o.ownerId as Id<"owners">, active: !o.active })}
                        >
                          {o.active ? "Deactivate" : "Reactivate"}
                        </RoleButton>
                        <RemoveButton
                          ownerKey={o.ownerKey}
                          pending={remove.pending}
                          onRemove={() => void remove.run({ ownerId: o.ownerId as Id<"owners"> })}
                        />
                      </div>
                    )}
                  </td>
                </tr>
              );
            })}
          </DataTable>
        ) : null}
        <InlineError error={setRole.error ?? setActive.error ?? remove.error} />
      </Card>
      <InviteCard />
    </div>
  );
}

/** Removes a membership after an inline confirmation (the person's account and other workspaces stay). */
function RemoveButton({ ownerKey, pending, onRemove }: { ownerKey: string; pending: boolean; onRemove: () => void }) {
  const [confirm, setConfirm] = useState(false);
  if (!confirm) {
    return (
      <RoleButton need="owner" variant="secondary" className="btn-small" onClick={() => setConfirm(true)}>
        Remove
      </RoleButton>
    );
  }
  return (
    <>
      <span className="small">Remove {ownerKey} from this workspace?</span>
      <RoleButton need="owner" variant="danger" className="btn-small" pending={pending} onClick={onRemove}>
        Yes, remove
      </RoleButton>
      <Button variant="ghost" className="btn-small" onClick={() => setConfirm(false)}>
        Cancel
      </Button>
    </>
  );
}

type Issued = { ownerKey: string; role: Role; code: string; expiresAt: number };

function setPasswordLink(code: string): string {
  return `${window.location.origin}/set-password#code=${encodeURIComponent(code)}`;
}

function InviteCard() {
  const invite = useMutate(api.owners.manage.invite);
  const [ownerKey, setOwnerKey] = useState("");
  const [role, setRole] = useState<Role>("viewer");
  const [done, setDone] = useState<string | null>(null);
  const [issued, setIssued] = useState<Issued | null>(null);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setDone(null);
    setIssued(null);
    const key = ownerKey.trim();
    const r = await invite.run({ ownerKey: key, role });
    if (r.ok) {
      if (r.value.code && r.value.expiresAt)
        setIssued({ ownerKey: key, role, code: r.value.code, expiresAt: r.value.expiresAt });
      else
        setDone(
          `${key} already has an account; they can now sign in to this workspace as ${role} with their own password.`,
        );
      setOwnerKey("");
    }
  };
  const err = invite.error;
  return (
    <Card title="Invite someone">
      <p className="small muted">
        A new person gets a one-time set-password link (valid 24 hours) that only you see, once: send it to them over a
        safe channel and they choose their own password. Someone who already has an account is only added to this
        workspace; their password is never changed from here.
      </p>
      {issued ? (
        <Notice tone="warn" title={`Send ${issued.ownerKey} this set-password link now — it won't be shown again`}>
          <div className="row">
            <code className="token-box grow" data-testid="set-password-link">
              {setPasswordLink(issued.code)}
            </code>
            <CopyButton text={setPasswordLink(issued.code)} label="Copy link" />
          </div>
          <p className="small mt1">
            Role: <code>{issued.role}</code>. Single use; expires {new Date(issued.expiresAt).toLocaleString()}. Warden
            stores only a hash of it. If it is lost or expires, invite {issued.ownerKey} again for a new one.
          </p>
          <Button variant="secondary" onClick={() => setIssued(null)}>
            I've sent it
          </Button>
        </Notice>
      ) : null}
      <form onSubmit={submit} noValidate>
        <div className="form-row">
          <Field
            label="Owner key"
            hint="3–64 characters: letters, digits, . _ @ -"
            error={err?.field === "ownerKey" ? "Use 3–64 letters, digits, or . _ @ -" : undefined}
          >
            {(p) => <Input {...p} value={ownerKey} onChange={(e) => setOwnerKey(e.target.value)} autoComplete="off" />}
          </Field>
          <Field label="Role">
            {(p) => (
              <Select {...p} value={role} onChange={(e) => setRole(e.target.value as Role)}>
                <option value="viewer">viewer</option>
                <option value="admin">admin</option>
                <option value="owner">owner</option>
              </Select>
            )}
          </Field>
        </div>
        {err && !err.field ? <InlineError error={err} /> : null}
        <RoleButton need="owner" type="submit" variant="primary" pending={invite.pending} disabled={!ownerKey}>
          Invite
        </RoleButton>
        {done ? (
          <p role="status" className="small mt1">
            {done}
          </p>
        ) : null}
      </form>
    </Card>
  );
}

/**
 * Link a Clerk organization to this workspace. The organization is the one the owner has active in
 * their own Clerk sign-in (they must be its admin); the operator's CLI can link any (`npm run owners --
 * link-org`). Roles stay Warden's; just-in-time membership (off by default) starts org admins as admin,
 * everyone else as viewer.
 */
function ClerkOrgCard() {
  const status = useLoad(api.workspaces.org.status, {});
  const link = useMutate(api.workspaces.org.linkActiveOrg);
  const unlink = useMutate(api.workspaces.org.unlinkOrg);
  const setJit = useMutate(api.workspaces.org.setJit);
  if (status.status === "loading") return <Loading label="Loading the organization link…" />;
  if (status.status === "error") return <ErrorState error={status.error} title="Couldn't load the organization link" />;
  const s = status.data;
  const canLinkActive = s.activeOrg && s.activeOrg.id !== s.clerkOrgId && !s.activeOrg.linkedElsewhere;
  return (
    <Card title="Clerk organization">
      {s.clerkOrgId ? (
        <>
          <p>
            Linked to <code>{s.clerkOrgId}</code>. Members of this organization reach this workspace when it is their
            active organization, with the role they have here.
          </p>
          <label className="row mt1">
            <input
              type="checkbox"
              checked={s.jit}
              disabled={setJit.pending}
              onChange={(e) => setJit.run({ enabled: e.target.checked })}
            />
            <span>
              Just-in-time membership: organization members without a membership here get one on first sign-in (org
              admins as admin, everyone else as viewer; never owner).
            </span>
          </label>
          <div className="row mt1">
            <Button variant="secondary" pending={unlink.pending} onClick={() => unlink.run({})}>
              Unlink organization
            </Button>
          </div>
        </>
      ) : (
        <p className="small muted">No Clerk organization is linked. Members sign in with their own membership only.</p>
      )}
      {canLinkActive ? (
        <div className="mt1">
          <p className="small">
            Your active Clerk organization is <code>{s.activeOrg!.id}</code>
            {s.activeOrg!.role ? ` (you are ${s.activeOrg!.role})` : ""}.
          </p>
          <Button variant="primary" pending={link.pending} onClick={() => link.run({})}>
            {s.clerkOrgId ? "Link this organization instead" : "Link this organization"}
          </Button>
        </div>
      ) : !s.activeOrg ? (
        <p className="small muted mt1">
          To link one, sign in with Clerk as an admin of the organization and make it active, or ask the operator (
          <code>npm run owners -- link-org</code>).
        </p>
      ) : s.activeOrg.linkedElsewhere ? (
        <p className="small muted mt1">Your active organization is linked to another workspace.</p>
      ) : null}
      <InlineError error={link.error ?? unlink.error ?? setJit.error} />
    </Card>
  );
}
