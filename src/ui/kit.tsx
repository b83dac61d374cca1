/** The small component kit every page is built from (styles in styles.css). */
import {
  Component,
  useEffect,
  useId,
  useState,
  type ButtonHTMLAttributes,
  type ErrorInfo as ReactErrorInfo,
  type InputHTMLAttributes,
  type ReactNode,
  type SelectHTMLAttributes,
  type TextareaHTMLAttributes,
} from "react";
import { errorInfo, fieldLabel, friendly, type ErrorInfo } from "../lib/errors";
import { useCan, type Role } from "../auth/role";

type Variant = "primary" | "secondary" | "danger" | "ghost";

export function Button({
  variant = "secondary",
  pending,
  children,
  className,
  ...rest
}: ButtonHTMLAttributes<HTMLButtonElement> & { variant?: Variant; pending?: boolean }) {
  return (
    <button
      type="button"
      {...rest}
      className={`btn btn-${variant}${className ? ` ${className}` : ""}`}
      disabled={rest.disabled || pending}
      aria-busy={pending || undefined}
    >
      {pending ? <span className="spinner" aria-hidden="true" /> : null}
      {children}
    </button>
  );
}

const NEED_TEXT: Record<Role, string> = {
  owner: "Only owners can do this",
  admin: "Requires the admin or owner role",
  viewer: "",
};

/**
 * A button that is disabled (with the reason) when the signed-in role is too low. `hideWhenLocked`
 * (a form's submit) renders nothing instead: viewers see the form read-only, not a dead button.
 */
export function RoleButton({
  need,
  hideWhenLocked,
  ...props
}: Parameters<typeof Button>[0] & { need: Role; hideWhenLocked?: boolean }) {
  const can = useCan(need);
  if (can) return <Button {...props} />;
  if (hideWhenLocked) return null;
  return (
    <Button {...props} disabled title={NEED_TEXT[need]} aria-description={NEED_TEXT[need]} data-role-locked={need} />
  );
}

export function Field({
  label,
  hint,
  error,
  children,
  id: givenId,
}: {
  label: ReactNode;
  hint?: ReactNode;
  error?: ReactNode;
  id?: string;
  children: (p: { id: string; "aria-describedby"?: string; "aria-invalid"?: true }) => ReactNode;
}) {
  const auto = useId();
  const id = givenId ?? auto;
  const hintId = hint ? `${id}-hint` : undefined;
  const errId = error ? `${id}-err` : undefined;
  const describedBy = [hintId, errId].filter(Boolean).join(" ") || undefined;
  return (
    <div className={`field${error ? " field-invalid" : ""}`}>
      <label htmlFor={id}>{label}</label>
      {children({ id, "aria-describedby": describedBy, "aria-invalid": error ? true : undefined })}
      {hint ? (
        <p className="hint" id={hintId}>
          {hint}
        </p>
      ) : null}
      {error ? (
        <p className="field-error" id={errId} role="alert">
          {error}
        </p>
      ) : null}
    </div>
  );
}

export const Input = (p: InputHTMLAttributes<HTMLInputElement>) => <input className="input" {...p} />;
export const Select = (p: SelectHTMLAttributes<HTMLSelectElement>) => <select className="input" {...p} />;
export const TextArea = (p: TextareaHTMLAttributes<HTMLTextAreaElement>) => <textarea className="input" {...p} />;

/** A titled section; its heading id is unique per card (useId), so each card is announced with its own title. */
export function Card({
  title,
  actions,
  children,
  className,
  id,
}: {
  title?: ReactNode;
  actions?: ReactNode;
  children: ReactNode;
  className?: string;
  id?: string;
}) {
  const auto = useId();
  const titleId = `${id ?? auto}-title`;
  return (
    <section
      className={`card${className ? ` ${className}` : ""}`}
      aria-labelledby={title ? titleId : undefined}
      id={id}
    >
      {title || actions ? (
        <header className="card-head">
          {title ? <h2 id={titleId}>{title}</h2> : <span />}
          {actions ? <div className="card-actions">{actions}</div> : null}
        </header>
      ) : null}
      {children}
    </section>
  );
}

export function PageHeader({
  title,
  description,
  actions,
}: {
  title: string;
  description?: ReactNode;
  actions?: ReactNode;
}) {
  useEffect(() => {
    document.title = `${title} · Warden`;
  }, [title]);
  return (
    <div className="page-head">
      <div>
        <h1>{title}</h1>
        {description ? <p className="lede">{description}</p> : null}
      </div>
      {actions ? <div className="page-actions">{actions}</div> : null}
    </div>
  );
}

export function Badge({
  tone = "neutral",
  children,
  title,
}: {
  tone?: "neutral" | "ok" | "warn" | "danger" | "accent";
  children: ReactNode;
  title?: string;
}) {
  return (
    <span className={`badge badge-${tone}`} title={title}>
      {children}
    </span>
  );
}

/** A column heading; `numeric` right-aligns it like its cells. */
export type Column = string | { label: string; numeric: true };

/**
 * The one table layout: scrollable wrapper, optional screen-reader caption, header row, and an
 * unlabeled (screen-reader "Actions") last column when rows end in buttons. Children are the rows.
 */
export function DataTable({
  columns,
  actions = false,
  caption,
  className,
  children,
}: {
  columns: Column[];
  actions?: boolean;
  caption?: string;
  className?: string;
  children: ReactNode;
}) {
  return (
    <div className={className ? `table-wrap ${className}` : "table-wrap"}>
      <table>
        {caption ? <caption className="sr-only">{caption}</caption> : null}
        <thead>
          <tr>
            {columns.map((c) =>
              typeof c === "string" ? (
                <th key={c} scope="col">
                  {c}
                </th>
              ) : (
                <th key={c.label} scope="col" className="num">
                  {c.label}
                </th>
              ),
            )}
            {actions ? (
              <th scope="col">
                <span className="sr-only">Actions</span>
              </th>
            ) : null}
          </tr>
        </thead>
        <tbody>{children}</tbody>
      </table>
    </div>
  );
}

export function EmptyState({ title, children, action }: { title: string; children?: ReactNode; action?: ReactNode }) {
  return (
    <div className="empty">
      <p className="empty-title">{title}</p>
      {children ? <div className="empty-body">{children}</div> : null}
      {action ? <div className="empty-action">{action}</div> : null}
    </div>
  );
}

export function Loading({ label = "Loading…" }: { label?: string }) {
  return (
    <div className="loading" role="status" aria-live="polite">
      <span className="spinner" aria-hidden="true" />
      {label}
    </div>
  );
}

export function ErrorState({
  error,
  title = "Couldn't load this",
  action,
  message,
}: {
  error: ErrorInfo;
  title?: string;
  action?: ReactNode;
  message?: string;
}) {
  return (
    <div className="error-state" role="alert">
      <p className="error-title">{title}</p>
      <p>{message ?? friendly(error.code)}</p>
      <p className="code-note">
        Code: <code>{error.code}</code>
      </p>
      {action}
    </div>
  );
}

/** An inline error under a form or action: friendly text + the server's code. */
export function InlineError({ error, prefix }: { error: ErrorInfo | null | undefined; prefix?: string }) {
  if (!error) return null;
  const f = fieldLabel(error.field);
  return (
    <p className="inline-error" role="alert">
      {prefix ? `${prefix}: ` : ""}
      {f ? <strong>{f}: </strong> : null}
      {friendly(error.code)} <code>{error.code}</code>
    </p>
  );
}

export function Notice({
  tone = "info",
  children,
  title,
}: {
  tone?: "info" | "warn" | "danger" | "ok";
  children: ReactNode;
  title?: string;
}) {
  return (
    <div className={`notice notice-${tone}`} role={tone === "danger" ? "alert" : undefined}>
      {title ? <p className="notice-title">{title}</p> : null}
      <div>{children}</div>
    </div>
  );
}

export function CopyButton({ text, label = "Copy" }: { text: string; label?: string }) {
  const [done, setDone] = useState<"" | "ok" | "fail">("");
  return (
    <Button
      variant="secondary"
      onClick={async () => {
        try {
          await navigator.clipboard.writeText(text);
          setDone("ok");
        } catch {
          setDone("fail");
        }
        setTimeout(() => setDone(""), 2000);
      }}
    >
      {done === "ok" ? "Copied" : done === "fail" ? "Select and copy" : label}
      <span className="sr-only" aria-live="polite">
        {done === "ok" ? "Copied to clipboard" : ""}
      </span>
    </Button>
  );
}

export function KeyValue({ items }: { items: [ReactNode, ReactNode][] }) {
  return (
    <dl className="kv">
      {items.map(([k, v], i) => (
        <div key={i}>
          <dt>{k}</dt>
          <dd>{v}</dd>
        </div>
      ))}
    </dl>
  );
}

/** Catches render errors (e.g. a paginated query the server refused) and shows them as a state. */
export class Boundary extends Component<{ children: ReactNode; resetKey?: string }, { error: unknown; key?: string }> {
  state: { error: unknown; key?: string } = { error: null };
  static getDerivedStateFromError(error: unknown) {
    return { error };
  }
  static getDerivedStateFromProps(props: { resetKey?: string }, state: { error: unknown; key?: string }) {
    if (props.resetKey !== state.key) return { error: null, key: props.resetKey };
    return null;
  }
  componentDidCatch(_e: unknown, _info: ReactErrorInfo) {}
  render() {
    if (this.state.error) return <ErrorState error={errorInfo(this.state.error)} />;
    return this.props.children;
  }
}

/** Long log text: a short head, the rest behind a keyboard-reachable "more" toggle (no scroll boxes). */
export function Preview({ text, limit = 200 }: { text: string; limit?: number }) {
  if (!text) return <div className="preview">—</div>;
  if (text.length <= limit) return <div className="preview">{text}</div>;
  return (
    <details className="preview">
      <summary>{text.slice(0, limit)}…</summary>
      {text.slice(limit)}
    </details>
  );
}
