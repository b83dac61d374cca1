import { useState, type FormEvent } from "react";
import { api } from "../../convex/_generated/api";
import { useLoad, useMutate } from "../lib/data";
import { friendly } from "../lib/errors";
import { relative } from "../lib/format";
import { useCan } from "../auth/role";
import {
  Badge,
  Card,
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

type Kind = "offline" | "openai" | "openai-compatible" | "anthropic" | "openrouter";
const DEFAULT_ENV: Record<Kind, string> = {
  offline: "",
  openai: "OPENAI_API_KEY",
  "openai-compatible": "OPENAI_COMPATIBLE_API_KEY",
  anthropic: "ANTHROPIC_API_KEY",
  openrouter: "OPENROUTER_API_KEY",
};
const FIELD_TEXT: Record<string, string> = {
  label: "Use 1–64 characters.",
  apiKeyEnvVar:
    "Enter the NAME of a model-key variable your operator set (OPENAI_API_KEY, ANTHROPIC_API_KEY, OPENROUTER_API_KEY, OPENAI_COMPATIBLE_API_KEY or WARDEN_MODEL_KEY_<NAME>) — never the key itself.",
  baseUrl: "Use an https URL without credentials, query or fragment.",
  inUse: "The agent uses this provider; pick another one on the Agent page first.",
  count: "This workspace has the maximum number of providers.",
};

export function ProvidersPage() {
  const canAdd = useCan("admin");
  const list = useLoad(api.agent.providers.list, {});
  const remove = useMutate(api.agent.providers.remove);
  return (
    <>
      <PageHeader
        title="Model providers"
        description="Where answers come from. Warden stores only the name of the environment variable that holds each key — never the key."
      />
      <Notice title="Keys live on the server">
        Your operator sets API keys as environment variables of the deployment (for example{" "}
        <code>npx convex env set OPENAI_API_KEY …</code>, or in the environment of <code>npm start</code>) and binds
        each key to the hosts it may be sent to (<code>&lt;VARIABLE&gt;_HOSTS</code>; the vendor keys default to the
        vendor's own host). This page only shows whether each key is set and may be used with the provider's base URL.
      </Notice>
      <div className="stack">
        <Card title="Providers">
          {list.status === "loading" ? <Loading /> : null}
          {list.status === "error" ? <ErrorState error={list.error} /> : null}
          {list.status === "ok" && list.data.length === 0 ? (
            <EmptyState title="No providers yet">
              The agent uses the built-in offline model until you add a provider below and select it on the Agent page.
            </EmptyState>
          ) : null}
          {list.status === "ok" && list.data.length > 0 ? (
            <DataTable columns={["Label", "Kind", "Key variable", "Key set?", "Base URL"]} actions>
              {list.data.map((p) => (
                <tr key={p._id}>
                  <td>
                    <strong>{p.label}</strong>
                    <div className="small muted">updated {relative(p.updatedAt)}</div>
                  </td>
                  <td>{p.kind}</td>
                  <td>{p.apiKeyEnvVar ? <code>{p.apiKeyEnvVar}</code> : <span className="muted">none needed</span>}</td>
                  <td>
                    {p.keyConfigured ? (
                      <Badge tone="ok">yes</Badge>
                    ) : (
                      <Badge tone="warn" title="Not set, or not bound to this provider's host">
                        not set
                      </Badge>
                    )}
                  </td>
                  <td className="small">{p.baseUrl ?? "—"}</td>
                  <td>
                    <RoleButton
                      need="admin"
                      variant="danger"
                      className="btn-small"
                      onClick={() => void remove.run({ providerId: p._id })}
                    >
                      Remove
                    </RoleButton>
                  </td>
                </tr>
              ))}
            </DataTable>
          ) : null}
          {remove.error ? (
            <p className="inline-error" role="alert">
              {remove.error.field ? FIELD_TEXT[remove.error.field] : friendly(remove.error.code)}{" "}
              <code>{remove.error.code}</code>
            </p>
          ) : null}
        </Card>
        {canAdd ? <AddProvider /> : null}
      </div>
    </>
  );
}

function AddProvider() {
  const create = useMutate(api.agent.providers.create);
  const [label, setLabel] = useState("");
  const [kind, setKind] = useState<Kind>("openai");
  const [envVar, setEnvVar] = useState(DEFAULT_ENV.openai);
  const [baseUrl, setBaseUrl] = useState("");
  const [done, setDone] = useState(false);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setDone(false);
    const r = await create.run({
      label: label.trim(),
      kind,
      apiKeyEnvVar: kind === "offline" ? undefined : envVar.trim() || undefined,
      baseUrl: baseUrl.trim() || undefined,
    });
    if (r.ok) {
      setDone(true);
      setLabel("");
      setBaseUrl("");
    }
  };
  const err = create.error;
  const msg = (f: string) =>
    err?.field === f ? (
      <>
        {FIELD_TEXT[f] ?? friendly(err.code)} <code>{err.code}</code>
      </>
    ) : undefined;
  return (
    <Card title="Add a provider">
      <form onSubmit={submit} noValidate>
        <div className="form-row">
          <Field label="Label" error={msg("label")}>
            {(p) => (
              <Input {...p} value={label} onChange={(e) => setLabel(e.target.value)} placeholder="OpenAI production" />
            )}
          </Field>
          <Field label="Kind">
            {(p) => (
              <Select
                {...p}
                value={kind}
                onChange={(e) => {
                  const k = e.target.value as Kind;
                  setKind(k);
                  setEnvVar(DEFAULT_ENV[k]);
                }}
              >
                <option value="openai">OpenAI</option>
                <option value="anthropic">Anthropic</option>
                <option value="openrouter">OpenRouter</option>
                <option value="openai-compatible">OpenAI-compatible (own base URL)</option>
                <option value="offline">Offline (no key)</option>
              </Select>
            )}
          </Field>
        </div>
        {kind !== "offline" ? (
          <div className="form-row">
            <Field
              label="Key variable name"
              hint="OPENAI_API_KEY, ANTHROPIC_API_KEY, OPENROUTER_API_KEY, OPENAI_COMPATIBLE_API_KEY or WARDEN_MODEL_KEY_<NAME>"
              error={msg("apiKeyEnvVar")}
            >
              {(p) => (
                <Input
                  {...p}
                  className="input mono"
                  value={envVar}
                  onChange={(e) => setEnvVar(e.target.value)}
                  spellCheck={false}
                  autoComplete="off"
                />
              )}
            </Field>
            <Field
              label="Base URL"
              hint={kind === "openai-compatible" ? "Required, https" : "Optional"}
              error={msg("baseUrl")}
            >
              {(p) => (
                <Input
                  {...p}
                  value={baseUrl}
                  onChange={(e) => setBaseUrl(e.target.value)}
                  placeholder="https://api.example.com/v1"
                  spellCheck={false}
                />
              )}
            </Field>
          </div>
        ) : null}
        {err && !err.field ? <InlineError error={err} /> : null}
        <RoleButton need="admin" type="submit" variant="primary" pending={create.pending} disabled={!label.trim()}>
          Add provider
        </RoleButton>
        {done ? (
          <span role="status" className="small">
            {" "}
            Added.
          </span>
        ) : null}
      </form>
    </Card>
  );
}
