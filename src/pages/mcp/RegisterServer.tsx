/** Registering an upstream MCP server (it waits for an admin's approval). */
import { useState, type FormEvent } from "react";
import { api } from "../../../convex/_generated/api";
import { useMutate } from "../../lib/data";
import { friendly } from "../../lib/errors";
import { Card, Field, InlineError, Input, RoleButton } from "../../ui/kit";

export function RegisterServer() {
  const register = useMutate(api.mcp.outbound.servers.register);
  const [name, setName] = useState("");
  const [url, setUrl] = useState("");
  const [authHeaderName, setAuthHeaderName] = useState("");
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const r = await register.run({
      name: name.trim(),
      url: url.trim(),
      authHeaderName: authHeaderName.trim() || undefined,
    });
    if (r.ok) {
      setName("");
      setUrl("");
      setAuthHeaderName("");
    }
  };
  const err = register.error;
  const urlCodes = [
    "URL_INVALID",
    "DOMAIN_INVALID",
    "PRIVATE_ADDRESS_BLOCKED",
    "SCHEME_NOT_ALLOWED",
    "PORT_NOT_ALLOWED",
    "USERINFO_NOT_ALLOWED",
    "DOMAIN_NOT_ALLOWED",
  ];
  return (
    <Card title="Register a server">
      <form onSubmit={submit} noValidate>
        <div className="form-row">
          <Field
            label="Name"
            hint="Lowercase, e.g. github"
            error={
              err?.field === "name" || err?.code === "NAME_TAKEN" ? (
                <>
                  {err.code === "NAME_TAKEN" ? friendly(err.code) : "Use 2–63 lowercase letters, digits, - or _."}{" "}
                  <code>{err.code}</code>
                </>
              ) : undefined
            }
          >
            {(p) => (
              <Input
                {...p}
                value={name}
                onChange={(e) => setName(e.target.value)}
                autoComplete="off"
                spellCheck={false}
              />
            )}
          </Field>
          <Field
            label="URL"
            hint="https://… (Streamable HTTP endpoint)"
            error={
              err && urlCodes.includes(err.code) ? (
                <>
                  {friendly(err.code)} <code>{err.code}</code>
                </>
              ) : undefined
            }
          >
            {(p) => (
              <Input
                {...p}
                value={url}
                onChange={(e) => setUrl(e.target.value)}
                placeholder="https://mcp.example.com/mcp"
                spellCheck={false}
              />
            )}
          </Field>
          <Field
            label="Auth header (optional)"
            hint="e.g. Authorization; you set its value as a secret"
            error={
              err?.field === "authHeaderName" ? (
                <>
                  That header name isn't allowed. <code>{err.code}</code>
                </>
              ) : undefined
            }
          >
            {(p) => (
              <Input
                {...p}
                value={authHeaderName}
                onChange={(e) => setAuthHeaderName(e.target.value)}
                spellCheck={false}
              />
            )}
          </Field>
        </div>
        {err &&
        !urlCodes.includes(err.code) &&
        err.code !== "NAME_TAKEN" &&
        !["name", "authHeaderName"].includes(err.field ?? "") ? (
          <InlineError error={err} />
        ) : null}
        <RoleButton
          need="admin"
          type="submit"
          variant="primary"
          pending={register.pending}
          disabled={!name.trim() || !url.trim()}
        >
          Register server
        </RoleButton>
      </form>
    </Card>
  );
}
