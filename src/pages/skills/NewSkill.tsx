import { useState, type FormEvent } from "react";
import { api } from "../../../convex/_generated/api";
import { useMutate } from "../../lib/data";
import { friendly } from "../../lib/errors";
import { Link, navigate } from "../../lib/router";
import { Button, Card, Field, InlineError, Input, PageHeader, RoleButton, Select, TextArea } from "../../ui/kit";

const PRESETS: Record<string, { config: unknown; domains: string; secrets: string; description: string }> = {
  calculator: {
    config: { template: "calculator", precision: 12 },
    domains: "",
    secrets: "",
    description: "Evaluate an arithmetic expression.",
  },
  time_in_zone: {
    config: { template: "time_in_zone", defaultZone: "UTC" },
    domains: "",
    secrets: "",
    description: "Current date and time in a time zone.",
  },
  http_get_json: {
    config: { template: "http_get_json", urlTemplate: "https://api.example.com/items/{id}", jsonPointer: "/name" },
    domains: "api.example.com",
    secrets: "",
    description: "Look up an item in a JSON API.",
  },
  rss_feed: {
    config: { template: "rss_feed", urlTemplate: "https://blog.example.com/feed.xml", maxItems: 5 },
    domains: "blog.example.com",
    secrets: "",
    description: "Latest posts from a feed.",
  },
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
  image: {
    config: { operation: "image_info" },
    domains: "",
    secrets: "",
    description: "Describe an uploaded image (type, size, dimensions).",
  },
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
    const r = await create.run({
      name: name.trim(),
      description,
      type,
      config: parsed,
      allowedDomains: splitList(domains),
      secretNames: splitList(secrets),
    });
    if (r.ok) navigate(`/skills/${r.value}`);
  };
  const errs = create.error
    ? (create.error.errors ?? [{ code: create.error.code, field: create.error.field ?? "", index: create.error.index }])
    : [];
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
      <PageHeader
        title="New skill"
        description="A new skill starts as “pending”: it can't run until an admin reviews and approves it."
      />
      <Card>
        <form onSubmit={submit} noValidate>
          <div className="form-row">
            <Field label="Name" hint="Lowercase letters, digits, - and _ (e.g. weather_lookup)" error={errFor("name")}>
              {(p) => (
                <Input
                  {...p}
                  value={name}
                  onChange={(e) => setName(e.target.value)}
                  autoComplete="off"
                  spellCheck={false}
                  required
                />
              )}
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
          <Field
            label="Description"
            hint="What the agent sees when it decides whether to call this skill."
            error={errFor("description")}
          >
            {(p) => <TextArea {...p} rows={2} value={description} onChange={(e) => setDescription(e.target.value)} />}
          </Field>
          <Field
            label="Configuration (JSON)"
            hint={`Preset for ${presetKey}; URL placeholders like {query} become inputs.`}
            error={jsonError ?? errFor("config")}
          >
            {(p) => (
              <TextArea
                {...p}
                className="input mono"
                rows={8}
                value={config}
                onChange={(e) => setConfig(e.target.value)}
                spellCheck={false}
              />
            )}
          </Field>
          <div className="form-row">
            <Field
              label="Allowed domains"
              hint="Exact host names, separated by spaces or commas."
              error={errFor("allowedDomains")}
            >
              {(p) => (
                <Input
                  {...p}
                  className="input mono"
                  value={domains}
                  onChange={(e) => setDomains(e.target.value)}
                  placeholder="api.example.com"
                  spellCheck={false}
                />
              )}
            </Field>
            <Field
              label="Secret names"
              hint="Names only — you set the values after creating the skill."
              error={errFor("secretNames")}
            >
              {(p) => (
                <Input
                  {...p}
                  className="input mono"
                  value={secrets}
                  onChange={(e) => setSecrets(e.target.value)}
                  placeholder="API_TOKEN"
                  spellCheck={false}
                />
              )}
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
