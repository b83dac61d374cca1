/**
 * The signed-in person's own account: who they are here, their active sign-in sessions (end one, or
 * all others), and changing their password (current one required; it ends their other sessions).
 */
import { useState, type FormEvent } from "react";
import { api } from "../../convex/_generated/api";
import { useAct, useLoad, useMutate } from "../lib/data";
import { useSession } from "../auth/role";
import { formatWait } from "../lib/errors";
import {
  Badge,
  Button,
  Card,
  DataTable,
  ErrorState,
  Field,
  InlineError,
  Input,
  KeyValue,
  Loading,
  Notice,
  PageHeader,
} from "../ui/kit";

const MIN = 12;

export function AccountPage() {
  const me = useSession();
  return (
    <>
      <PageHeader title="Your account" description="Your sign-in and password. Only you can change your password." />
      <Card title="Signed in as">
        <KeyValue
          items={[
            ["Owner key", <code key="k">{me.ownerKey}</code>],
            ["Workspace", me.workspaceName],
            ["Role here", me.role],
            ["Signed in with", me.provider === "builtin" ? "password" : "Clerk"],
          ]}
        />
      </Card>
      <div className="mt2">
        <SessionsCard />
      </div>
      <div className="mt2">
        {me.provider === "builtin" ? (
          <ChangePasswordCard />
        ) : (
          <Notice>You signed in with Clerk. Manage your Clerk password and sessions in Clerk.</Notice>
        )}
      </div>
    </>
  );
}

function when(ms: number): string {
  return new Date(ms).toLocaleString();
}

/** The person's open sessions, in every workspace; ending one stops its tokens at once (server-side). */
function SessionsCard() {
  const sessions = useLoad(api.owners.sessions.mine, {});
  const end = useMutate(api.owners.sessions.end);
  const endOthers = useMutate(api.owners.sessions.endOthers);
  const [ended, setEnded] = useState<number | null>(null);
  if (sessions.status === "loading") return <Loading label="Loading your sessions…" />;
  if (sessions.status === "error") return <ErrorState error={sessions.error} title="Couldn't load your sessions" />;
  const others = sessions.data.filter((s) => !s.current).length;
  return (
    <Card
      title="Active sessions"
      actions={
        <Button
          variant="secondary"
          pending={endOthers.pending}
          disabled={others === 0}
          onClick={async () => {
            const r = await endOthers.run({});
            if (r.ok) setEnded(r.value.ended);
          }}
        >
          End all other sessions
        </Button>
      }
    >
      <p className="small muted">
        Where you are signed in. Ending a session signs it out on the server at once; signing out here ends this one.
      </p>
      <DataTable
        caption="Your active sessions"
        columns={["Signed in", "With", "Workspace", "Device", "Last active"]}
        actions
      >
        {sessions.data.map((s) => (
          <tr key={s.sessionId}>
            <td>{when(s.createdAt)}</td>
            <td>{s.provider === "builtin" ? "password" : "Clerk"}</td>
            <td>{s.workspaceName}</td>
            <td className="small">{s.label ?? "—"}</td>
            <td>{when(s.lastSeenAt)}</td>
            <td>
              {s.current ? (
                <Badge tone="accent">this session</Badge>
              ) : (
                <Button
                  variant="secondary"
                  className="btn-small"
                  pending={end.pending}
                  onClick={() => end.run({ sessionId: s.sessionId })}
                >
                  End
                </Button>
              )}
            </td>
          </tr>
        ))}
      </DataTable>
      <InlineError error={end.error ?? endOthers.error} />
      {ended !== null ? (
        <p role="status" className="small mt1">
          Ended {ended} other session{ended === 1 ? "" : "s"}.
        </p>
      ) : null}
    </Card>
  );
}

function ChangePasswordCard() {
  const change = useAct(api.owners.password.change);
  const [current, setCurrent] = useState("");
  const [next, setNext] = useState("");
  const [repeat, setRepeat] = useState("");
  const [local, setLocal] = useState<string | null>(null);
  const [done, setDone] = useState(false);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setDone(false);
    setLocal(null);
    change.clear();
    if (next.length < MIN) return setLocal(`Use at least ${MIN} characters.`);
    if (next !== repeat) return setLocal("The two new passwords don't match.");
    const r = await change.run({ currentPassword: current, newPassword: next });
    if (r.ok) {
      setDone(true);
      setCurrent("");
      setNext("");
      setRepeat("");
    }
  };
  const err = change.error;
  return (
    <Card title="Change password">
      <p className="small muted">
        Your current password is required. Failed attempts count toward the same limit as failed sign-ins.
      </p>
      <form onSubmit={submit} noValidate>
        <Field
          label="Current password"
          error={err?.code === "PASSWORD_INCORRECT" ? "Your current password isn't right." : undefined}
        >
          {(p) => (
            <Input
              {...p}
              type="password"
              autoComplete="current-password"
              value={current}
              onChange={(e) => setCurrent(e.target.value)}
              required
            />
          )}
        </Field>
        <Field
          label="New password"
          hint={`At least ${MIN} characters`}
          error={err?.field === "newPassword" ? "The new password is too short (or too long)." : undefined}
        >
          {(p) => (
            <Input
              {...p}
              type="password"
              autoComplete="new-password"
              value={next}
              onChange={(e) => setNext(e.target.value)}
              required
            />
          )}
        </Field>
        <Field label="Repeat new password" error={local ?? undefined}>
          {(p) => (
            <Input
              {...p}
              type="password"
              autoComplete="new-password"
              value={repeat}
              onChange={(e) => setRepeat(e.target.value)}
              required
            />
          )}
        </Field>
        {err && err.code !== "PASSWORD_INCORRECT" && !err.field ? (
          <>
            <InlineError error={err} />
            {err.code === "RATE_LIMITED" && err.retryAfterMs ? (
              <p className="small muted">Try again in {formatWait(err.retryAfterMs)}.</p>
            ) : null}
          </>
        ) : null}
        <Button type="submit" variant="primary" pending={change.pending} disabled={!current || !next || !repeat}>
          Change password
        </Button>
        {done ? (
          <p role="status" className="small mt1">
            Password changed. Your other sessions were signed out; use the new password next time you sign in.
          </p>
        ) : null}
      </form>
    </Card>
  );
}
