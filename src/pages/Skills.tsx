import { useState, type FormEvent } from "react";
import { usePaginatedQuery } from "convex/react";
import { api } from "../../convex/_generated/api";
import type { Doc, Id } from "../../convex/_generated/dataModel";
import { useLoad, useMutate } from "../lib/data";
import { friendly, type ErrorInfo } from "../lib/errors";
import { bytes, dateTime, relative } from "../lib/format";
import { Link, navigate } from "../lib/router";
import { useCan } from "../auth/role";
import { SecretsEditor } from "../ui/SecretsEditor";
import { RejectButton, SkillApproveButton } from "../ui/ApprovalGate";
import { TestSkillPanel } from "./SkillTest";
import { Badge, Button, Card, DataTable, EmptyState, ErrorState, Field, InlineError, Input, KeyValue, Loading, Notice, PageHeader, RoleButton, Select, TextArea } from "../ui/kit";

type Skill = Doc<"skillRegistry">;
type Status = Skill["status"];

export function statusTone(s: string): "ok" | "warn" | "danger" | "neutral" {
  return s === "approved" ? "ok" : s === "pending" ? "warn" : s === "rejected" || s === "disabled" ? "danger" : "neutral";
}
const STATUS_TEXT: Record<Status, string> = { pending: "pending review", approved: "approved", rejected: "rejected", disabled: "disabled" };

const FILTERS: { label: string; status?: Status }[] = [
  { label: "All" },
  { label: "Pending review", status: "pending" },
  { label: "Approved", status: "approved" },
  { label: "Rejected", status: "rejected" },
  { label: "Disabled", status: "disabled" },
];

export function SkillsPage() {
  const [filter, setFilter] = useState<Status | undefined>(undefined);
  const { results, status, loadMore } = usePaginatedQuery(api.skills.registry.list, filter ? { status: filter } : {}, { initialNumItems: 25 });
  return (
    <>
      <PageHeader
        title="Skills"
        description="Tools the agent can call. Every call goes through the security checker; nothing runs until an admin approves it."
        actions={
          <RoleButton need="admin" variant="primary" onClick={() => navigate("/skills/new")}>
            New skill
          </RoleButton>
        }
      />
      <div className="tabs" role="group" aria-label="Filter by status">
        {FILTERS.map((f) => (
          <button key={f.label} type="button" aria-pressed={filter === f.status} onClick={() => setFilter(f.status)}>
            {f.label}
          </button>
        ))}
      </div>
      {status === "LoadingFirstPage" ? (
        <Loading />
      ) : results.length === 0 ? (
        <EmptyState
          title={filter ? `No ${STATUS_TEXT[filter]} skills` : "No skills yet"}
          action={
            filter ? undefined : (
              <RoleButton need="admin" variant="primary" onClick={() => navigate("/skills/new")}>
                Create your first skill
              </RoleButton>
            )
          }
        >
          {filter ? "Try another filter." : "Create a skill from a template (calculator, time zones, JSON APIs, RSS) or a webhook. It stays pending until an admin approves it."}
        </EmptyState>
      ) : (
        <DataTable columns={["Skill", "Type", "Status", "Domains", "Updated"]} actions>
          {results.map((s) => (
            <tr key={s._id}>
              <td>
                <Link to={`/skills/${s._id}`}>
                  <strong>{s.name}</strong>
                </Link>
                <div className="small muted">{s.description.slice(0, 120)}</div>
              </td>
              <td>{s.type}</td>
              <td>
                <Badge tone={statusTone(s.status)}>{STATUS_TEXT[s.status]}</Badge>
              </td>
              <td className="small">{s.allowedDomains.length ? s.allowedDomains.join(", ") : <span className="muted">none</span>}</td>
              <td className="nowrap small">{relative(s.updatedAt)}</td>
              <td>
                <ReviewButtons skill={s} compact />
              </td>
            </tr>
          ))}
        </DataTable>
      )}
      {status === "CanLoadMore" ? (
        <div className="row mt2">
          <Button onClick={() => loadMore(25)}>Load more</Button>
        </div>
      ) : null}
    </>
  );
}

function ReviewButtons({ skill, compact }: { skill: Skill; compact?: boolean }) {
  const reject = useMutate(api.skills.registry.reject, { toast: `${skill.name} rejected.` });
  const disable = useMutate(api.skills.registry.disable);
  const err = reject.error ?? disable.error;
  const cls = compact ? "btn-small" : undefined;
  return (
    <div>
      <div className={compact ? "row nowrap-row" : "row"}>
        {skill.status !== "approved" ? <SkillApproveButton skill={skill} className={cls} /> : null}
        {skill.status === "pending" ? (
          <RejectButton
            name={skill.name}
            className={cls}
            pending={reject.pending}
            what="A rejected skill can't run. It stays in the list, and an admin can still review and approve it later."
            onConfirm={() => reject.run({ skillId: skill._id })}
          />
        ) : null}
        {skill.status === "approved" && !compact ? (
          <RoleButton need="admin" variant="danger" pending={disable.pending} onClick={() => void disable.run({ skillId: skill._id })}>
            Disable
          </RoleButton>
        ) : null}
      </div>
      <InlineError error={err} />
    </div>
  );
}

export function SkillDetail({ id }: { id: string }) {
  const skill = useLoad(api.skills.registry.get, { skillId: id as Id<"skillRegistry"> });
  if (skill.status === "loading") return <Loading />;
  if (skill.status === "error")
    return (
      <>
        <PageHeader title="Skill" />
        <ErrorState error={skill.error} action={<Link to="/skills">Back to skills</Link>} />
      </>
    );
  const s = skill.data;
  return (
    <>
      <p className="small">
        <Link to="/skills">← Skills</Link>
      </p>
      <PageHeader
        title={s.name}
        description={s.description}
        actions={
          <div className="row">
            <Badge tone={statusTone(s.status)}>{STATUS_TEXT[s.status]}</Badge>
            <ReviewButtons skill={s} />
          </div>
        }
      />
      {s.status === "pending" ? (
        <Notice tone="warn" title="Waiting for review">
          This skill can't run until an admin approves it. Check the configuration, domains and secrets below first.
        </Notice>
      ) : null}
      {s.status === "disabled" ? <Notice tone="danger">This skill is disabled. Approve it again to re-enable it.</Notice> : null}
      <div className="stack">
        <Card title="Review">
          <KeyValue
            items={[
              ["Type", s.type],
              ["Rate limit", s.rateLimitPerMinute ? `${s.rateLimitPerMinute} per minute` : "workspace default (skillPerSkill)"],
              ["Timeout", `${s.timeoutMs} ms`],
              ["Max output", bytes(s.maxOutputBytes)],
              ["Plain http allowed", s.allowHttp ? "yes" : "no (https only)"],
              ["Approved", s.approvedAt ? dateTime(s.approvedAt) : "—"],
              ["Updated", dateTime(s.updatedAt)],
            ]}
          />
          <h3 className="mt2">Input schema</h3>
          <pre className="code-block mt1">{JSON.stringify(s.inputSchema, null, 2)}</pre>
        </Card>
        <TestSkillPanel skill={s} />
        <DomainsCard skill={s} />
        <ConfigCard skill={s} key={s.configHash} />
        <Card title="Secrets">
          <SkillSecrets skill={s} />
        </Card>
      </div>
    </>
  );
}

function SkillSecrets({ skill }: { skill: Skill }) {
  const canAdmin = useCan("admin");
  const list = useLoad(api.secrets.manage.listSkillSecrets, canAdmin ? { skillId: skill._id } : "skip");
  const set = useMutate(api.secrets.manage.setSkillSecret);
  const del = useMutate(api.secrets.manage.deleteSkillSecret);
  if (skill.secretNames.length === 0 && skill.type !== "webhook") {
    return <p className="muted mb0">This skill declares no secrets. Webhook skills can declare secrets and inject them into request headers.</p>;
  }
  return (
    <SecretsEditor
      names={skill.secretNames}
      list={list}
      onSet={(name, value) => set.run({ skillId: skill._id, name, value })}
      onDelete={(name) => del.run({ skillId: skill._id, name })}
    />
  );
}

function DomainsCard({ skill }: { skill: Skill }) {
  const update = useMutate(api.skills.registry.update);
  const [entry, setEntry] = useState("");
  const [error, setError] = useState<{ value: string; info: ErrorInfo } | null>(null);
  const [note, setNote] = useState<string | null>(null);
  const isCode = skill.type === "code";

  const add = async (e: FormEvent) => {
    e.preventDefault();
    const value = entry.trim();
    if (!value) return;
    setError(null);
    setNote(null);
    const next = [...skill.allowedDomains, value];
    const r = await update.run({ skillId: skill._id, allowedDomains: next });
    if (!r.ok) {
      // The server names the entry (index) that failed; show its code next to what was typed.
      const hit = r.error.errors?.find((x) => x.field === "allowedDomains") ?? r.error;
      setError({ value, info: { ...r.error, code: hit.code, field: "allowedDomains" } });
      return;
    }
    setEntry("");
    if (r.value.status === "pending" && skill.status === "approved") setNote("Domain added. Adding a domain widens what the skill can reach, so it went back to review.");
    else setNote("Domain added.");
  };
  const remove = async (d: string) => {
    setError(null);
    const r = await update.run({ skillId: skill._id, allowedDomains: skill.allowedDomains.filter((x) => x !== d) });
    if (!r.ok) setError({ value: d, info: r.error });
    else setNote(`Removed ${d}. Removing a domain only narrows access, so the approval stays.`);
  };
  const canEdit = useCan("admin");
  return (
    <Card title="Allowed domains">
      <p className="small muted">
        The only hosts this skill may contact: exact names, https only. Wildcards, IP addresses, internal names and URLs with paths are refused by the server.
      </p>
      {skill.allowedDomains.length === 0 ? (
        <p className="muted">No domains: this skill can't make network calls.</p>
      ) : (
        <ul className="chips" aria-label="Allowed domains">
          {skill.allowedDomains.map((d) => (
            <li key={d} className="chip">
              {d}
              {canEdit ? (
                <button type="button" aria-label={`Remove ${d}`} onClick={() => void remove(d)}>
                  ×
                </button>
              ) : null}
            </li>
          ))}
        </ul>
      )}
      <form onSubmit={add} noValidate>
        <Field
          label="Add a domain"
          hint={isCode ? "Code skills can only narrow their declared domains." : "For example api.example.com"}
          error={
            error ? (
              <>
                “{error.value}”: {friendly(error.info.code)} <code>{error.info.code}</code>
              </>
            ) : undefined
          }
        >
          {(p) => (
            <div className="row">
              <Input {...p} className="input mono grow" value={entry} onChange={(e) => setEntry(e.target.value)} placeholder="api.example.com" disabled={!canEdit} autoComplete="off" spellCheck={false} />
              <RoleButton need="admin" type="submit" variant="primary" pending={update.pending} disabled={!entry.trim()}>
                Add domain
              </RoleButton>
            </div>
          )}
        </Field>
      </form>
      {note ? (
        <p className="small" role="status">
          {note}
        </p>
      ) : null}
    </Card>
  );
}

function ConfigCard({ skill }: { skill: Skill }) {
  const update = useMutate(api.skills.registry.update);
  const canEdit = useCan("admin") && skill.type !== "code";
  const [description, setDescription] = useState(skill.description);
  const [config, setConfig] = useState(JSON.stringify(skill.config, null, 2));
  const [rate, setRate] = useState(skill.rateLimitPerMinute ? String(skill.rateLimitPerMinute) : "");
  const [timeout, setTimeoutMs] = useState(String(skill.timeoutMs));
  const [maxOut, setMaxOut] = useState(String(skill.maxOutputBytes));
  const [jsonError, setJsonError] = useState<string | null>(null);
  const [saved, setSaved] = useState<string | null>(null);

  const save = async (e: FormEvent) => {
    e.preventDefault();
    setSaved(null);
    let parsed: unknown;
    try {
      parsed = JSON.parse(config);
      setJsonError(null);
    } catch {
      setJsonError("This isn't valid JSON.");
      return;
    }
    const r = await update.run({
      skillId: skill._id,
      description,
      config: parsed,
      rateLimitPerMinute: rate.trim() === "" ? null : Number(rate),
      timeoutMs: Number(timeout),
      maxOutputBytes: Number(maxOut),
    });
    if (r.ok) setSaved(r.value.status === "pending" && skill.status !== "pending" ? "Saved. The change sent this skill back to review." : "Saved.");
  };
  const fieldErr = (f: string) => {
    const e = update.error;
    if (!e) return undefined;
    const hit = (e.errors ?? [e]).find((x) => x.field === f || (f === "config" && x.field?.startsWith("config")));
    return hit ? (
      <>
        {friendly(hit.code)} <code>{hit.code}</code>
        {hit.field && hit.field !== f ? <> ({hit.field})</> : null}
      </>
    ) : undefined;
  };
  return (
    <Card title="Configuration">
      {skill.type === "code" ? <Notice>Code skills are defined in the repository; only limits and domains can be tuned here.</Notice> : null}
      {skill.status === "approved" && canEdit ? (
        <Notice tone="warn" title="Changes need a new review">
          Saving a change to the description, configuration or limits sends this approved skill back to “pending” until an admin approves it again.
        </Notice>
      ) : null}
      <form onSubmit={save} noValidate>
        <Field label="Description" error={fieldErr("description")}>
          {(p) => <TextArea {...p} value={description} onChange={(e) => setDescription(e.target.value)} readOnly={!canEdit} rows={2} />}
        </Field>
        <Field label="Configuration (JSON)" error={jsonError ?? fieldErr("config")} hint="Secrets never go here: reference them by name (secretHeaders) and set their values below.">
          {(p) => <TextArea {...p} className="input mono" value={config} onChange={(e) => setConfig(e.target.value)} readOnly={!canEdit} rows={8} spellCheck={false} />}
        </Field>
        <div className="form-row">
          <Field label="Rate per minute" hint="Empty = workspace default" error={fieldErr("rateLimitPerMinute")}>
            {(p) => <Input {...p} inputMode="numeric" value={rate} onChange={(e) => setRate(e.target.value)} readOnly={!canEdit} />}
          </Field>
          <Field label="Timeout (ms)" hint="100 – 60,000" error={fieldErr("timeoutMs")}>
            {(p) => <Input {...p} inputMode="numeric" value={timeout} onChange={(e) => setTimeoutMs(e.target.value)} readOnly={!canEdit} />}
          </Field>
          <Field label="Max output (bytes)" hint="256 – 1,048,576" error={fieldErr("maxOutputBytes")}>
            {(p) => <Input {...p} inputMode="numeric" value={maxOut} onChange={(e) => setMaxOut(e.target.value)} readOnly={!canEdit} />}
          </Field>
        </div>
        {update.error && !["description", "config", "rateLimitPerMinute", "timeoutMs", "maxOutputBytes"].some((f) => update.error?.field?.startsWith(f)) ? (
          <InlineError error={update.error} />
        ) : null}
        <div className="row">
          <RoleButton need="admin" type="submit" variant="primary" pending={update.pending} disabled={skill.type === "code"}>
            Save configuration
          </RoleButton>
          {saved ? (
            <span role="status" className="small">
              {saved}
            </span>
          ) : null}
        </div>
      </form>
    </Card>
  );
}

const PRESETS: Record<string, { config: unknown; domains: string; secrets: string; description: string }> = {
  calculator: { config: { template: "calculator", precision: 12 }, domains: "", secrets: "", description: "Evaluate an arithmetic expression." },
  time_in_zone: { config: { template: "time_in_zone", defaultZone: "UTC" }, domains: "", secrets: "", description: "Current date and time in a time zone." },
  http_get_json: {
    config: { template: "http_get_json", urlTemplate: "https://api.example.com/items/{id}", jsonPointer: "/name" },
    domains: "api.example.com",
    secrets: "",
    description: "Look up an item in a JSON API.",
  },
  rss_feed: { config: { template: "rss_feed", urlTemplate: "https://blog.example.com/feed.xml", maxItems: 5 }, domains: "blog.example.com", secrets: "", description: "Latest posts from a feed." },
  webhook: {
    config: {
      urlTemplate: "https://api.example.com/v1/search?q={query}",
      method: "GET",
      secretHeaders: { Authorization: { secret: "API_TOKEN", prefix: "Bearer " } },
    },
    domains: "api.example.com",
    secrets: "API_TOKEN",
    description: "Search an external API.",
  },
  image: { config: { operation: "image_info" }, domains: "", secrets: "", description: "Describe an uploaded image (type, size, dimensions)." },
};

const splitList = (s: string) =>
  s
    .split(/[\s,]+/)
    .map((x) => x.trim())
    .filter(Boolean);

export function NewSkill() {
  const create = useMutate(api.skills.registry.create);
  const [type, setType] = useState<"template" | "webhook" | "image">("template");
  const [template, setTemplate] = useState("calculator");
  const presetKey = type === "template" ? template : type;
  const [name, setName] = useState("");
  const [description, setDescription] = useState(PRESETS.calculator.description);
  const [config, setConfig] = useState(JSON.stringify(PRESETS.calculator.config, null, 2));
  const [domains, setDomains] = useState("");
  const [secrets, setSecrets] = useState("");
  const [jsonError, setJsonError] = useState<string | null>(null);

  const applyPreset = (key: string) => {
    const p = PRESETS[key];
    setConfig(JSON.stringify(p.config, null, 2));
    setDomains(p.domains);
    setSecrets(p.secrets);
    setDescription(p.description);
  };
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    let parsed: unknown;
    try {
      parsed = JSON.parse(config);
      setJsonError(null);
    } catch {
      setJsonError("This isn't valid JSON.");
      return;
    }
    const r = await create.run({ name: name.trim(), description, type, config: parsed, allowedDomains: splitList(domains), secretNames: splitList(secrets) });
    if (r.ok) navigate(`/skills/${r.value}`);
  };
  const errs = create.error ? (create.error.errors ?? [{ code: create.error.code, field: create.error.field ?? "", index: create.error.index }]) : [];
  const errFor = (f: string) => {
    const list = errs.filter((x) => x.field === f || x.field.startsWith(`${f}.`));
    if (!list.length) return undefined;
    return list.map((x, i) => (
      <span key={i} className="block">
        {x.index !== undefined && f === "allowedDomains" ? <>“{splitList(domains)[x.index]}”: </> : null}
        {friendly(x.code)} <code>{x.code}</code>
      </span>
    ));
  };
  const known = ["name", "description", "type", "config", "allowedDomains", "secretNames"];
  const other = errs.filter((x) => !known.some((k) => x.field === k || x.field.startsWith(`${k}.`)));
  return (
    <>
      <p className="small">
        <Link to="/skills">← Skills</Link>
      </p>
      <PageHeader title="New skill" description="A new skill starts as “pending”: it can't run until an admin reviews and approves it." />
      <Card>
        <form onSubmit={submit} noValidate>
          <div className="form-row">
            <Field label="Name" hint="Lowercase letters, digits, - and _ (e.g. weather_lookup)" error={errFor("name")}>
              {(p) => <Input {...p} value={name} onChange={(e) => setName(e.target.value)} autoComplete="off" spellCheck={false} required />}
            </Field>
            <Field label="Type" error={errFor("type")}>
              {(p) => (
                <Select
                  {...p}
                  value={type}
                  onChange={(e) => {
                    const t = e.target.value as typeof type;
                    setType(t);
                    applyPreset(t === "template" ? template : t);
                  }}
                >
                  <option value="template">Template (built-in, safest)</option>
                  <option value="webhook">Webhook (HTTP call to an allowlisted API)</option>
                  <option value="image">Image (validate an uploaded image)</option>
                </Select>
              )}
            </Field>
            {type === "template" ? (
              <Field label="Template">
                {(p) => (
                  <Select
                    {...p}
                    value={template}
                    onChange={(e) => {
                      setTemplate(e.target.value);
                      applyPreset(e.target.value);
                    }}
                  >
                    <option value="calculator">Calculator (no network)</option>
                    <option value="time_in_zone">Time in a time zone (no network)</option>
                    <option value="http_get_json">GET JSON from an API</option>
                    <option value="rss_feed">RSS / Atom feed</option>
                  </Select>
                )}
              </Field>
            ) : null}
          </div>
          <Field label="Description" hint="What the agent sees when it decides whether to call this skill." error={errFor("description")}>
            {(p) => <TextArea {...p} rows={2} value={description} onChange={(e) => setDescription(e.target.value)} />}
          </Field>
          <Field label="Configuration (JSON)" hint={`Preset for ${presetKey}; URL placeholders like {query} become inputs.`} error={jsonError ?? errFor("config")}>
            {(p) => <TextArea {...p} className="input mono" rows={8} value={config} onChange={(e) => setConfig(e.target.value)} spellCheck={false} />}
          </Field>
          <div className="form-row">
            <Field label="Allowed domains" hint="Exact host names, separated by spaces or commas." error={errFor("allowedDomains")}>
              {(p) => <Input {...p} className="input mono" value={domains} onChange={(e) => setDomains(e.target.value)} placeholder="api.example.com" spellCheck={false} />}
            </Field>
            <Field label="Secret names" hint="Names only — you set the values after creating the skill." error={errFor("secretNames")}>
              {(p) => <Input {...p} className="input mono" value={secrets} onChange={(e) => setSecrets(e.target.value)} placeholder="API_TOKEN" spellCheck={false} />}
            </Field>
          </div>
          {other.map((x, i) => (
            <InlineError key={i} error={{ code: x.code, field: x.field }} />
          ))}
          <div className="row">
            <RoleButton need="admin" type="submit" variant="primary" pending={create.pending} disabled={!name.trim()}>
              Create skill
            </RoleButton>
            <Button variant="ghost" onClick={() => navigate("/skills")}>
              Cancel
            </Button>
          </div>
        </form>
      </Card>
    </>
  );
}
