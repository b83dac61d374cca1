/** Public page an invitee opens from their one-time link (/set-password#code=…) to choose their own password. */
import { useEffect, useState, type FormEvent } from "react";
import { setInitialPassword, signIn } from "../auth/builtin";
import { navigate } from "../lib/router";
import { errorInfo, formatWait, type ErrorInfo } from "../lib/errors";
import { Button, Card, Field, InlineError, Input } from "../ui/kit";

const MIN = 12;

/** The code travels in the URL fragment, which browsers never send to a server. */
function codeFromHash(): string {
  return new URLSearchParams(window.location.hash.slice(1)).get("code") ?? "";
}

export function SetPasswordPage({ siteUrl }: { siteUrl: string }) {
  const [code, setCode] = useState(codeFromHash);
  const [password, setPassword] = useState("");
  const [confirm, setConfirm] = useState("");
  const [pending, setPending] = useState(false);
  const [error, setError] = useState<ErrorInfo | null>(null);
  const [local, setLocal] = useState<string | null>(null);
  useEffect(() => {
    document.title = "Set your password · Warden";
    // Drop the code from the address bar and history once it is in the form.
    if (window.location.hash) window.history.replaceState(null, "", window.location.pathname + window.location.search);
  }, []);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setError(null);
    setLocal(null);
    if (password.length < MIN) return setLocal(`Use at least ${MIN} characters.`);
    if (password !== confirm) return setLocal("The two passwords don't match.");
    setPending(true);
    try {
      const ownerKey = await setInitialPassword(siteUrl, code.trim(), password);
      await signIn(siteUrl, ownerKey, password);
      setPassword("");
      setConfirm("");
      navigate("/", { replace: true });
    } catch (err) {
      setError(errorInfo(err));
    } finally {
      setPending(false);
    }
  };
  return (
    <div className="center-page">
      <main className="signin" id="main">
        <div className="brand">
          <img src="/favicon.svg" alt="" />
          Warden
        </div>
        <Card>
          <h1 className="signin-title">Set your password</h1>
          <p className="muted small">
            You were invited to SyncBoard. Choose your own password; the set-password code works once and expires after
            24 hours.
          </p>
          <form onSubmit={submit} noValidate>
            <Field label="Set-password code" hint="From the link you were sent">
              {(p) => (
                <Input
                  {...p}
                  name="code"
                  autoComplete="off"
                  value={code}
                  onChange={(e) => setCode(e.target.value)}
                  required
                />
              )}
            </Field>
            <Field label="New password" hint={`At least ${MIN} characters`}>
              {(p) => (
                <Input
                  {...p}
                  name="new-password"
                  type="password"
                  autoComplete="new-password"
                  value={password}
                  onChange={(e) => setPassword(e.target.value)}
                  required
                />
              )}
            </Field>
            <Field label="Repeat new password" error={local ?? undefined}>
              {(p) => (
                <Input
                  {...p}
                  name="confirm-password"
                  type="password"
                  autoComplete="new-password"
                  value={confirm}
                  onChange={(e) => setConfirm(e.target.value)}
                  required
                />
              )}
            </Field>
            {error ? (
              <>
                <InlineError error={error} />
                {error.code === "RATE_LIMITED" && error.retryAfterMs ? (
                  <p className="small muted">Try again in {formatWait(error.retryAfterMs)}.</p>
                ) : null}
              </>
            ) : null}
            <div className="row mt1">
              <Button
                type="submit"
                variant="primary"
                className="full"
                pending={pending}
                disabled={!code || !password || !confirm}
              >
                Set password and sign in
              </Button>
            </div>
          </form>
        </Card>
        <p className="small muted center-text mt2">
          Already have a password? <a href="/">Sign in</a>
        </p>
      </main>
    </div>
  );
}
