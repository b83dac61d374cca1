/**
 * URL templates for webhook skills: `https://api.example.com/v1/weather/{city}?units={units}`.
 *
 * Placeholders `{name}` may appear only in the path and the query, never in scheme, userinfo,
 * host or port. A path value stays inside its segment (no `/`, `\`, dot segments, pre-encoded
 * traversal, look-alike dots or slashes); a query value is encodeURIComponent-encoded so it cannot
 * add parameters. After rendering, scheme/host/port and the exact path shape are re-checked.
 * Pure TypeScript; the result still has to pass `checkEgressUrl` (allowlist) before any fetch.
 *
 * Codes: URL_TEMPLATE_INVALID (new) — the template itself is unusable;
 *        INPUT_INVALID — a parameter is missing, of the wrong type, or unsafe.
 */

export type UrlTemplateInvalid = { ok: false; code: "URL_TEMPLATE_INVALID" };
export type RenderResult = { ok: true; url: string } | { ok: false; code: "INPUT_INVALID" | "URL_TEMPLATE_INVALID" };

export type Placeholder = { name: string; in: "path" | "query" };

type Part = { literal: string } | { placeholder: string };

type ParsedTemplate = {
  scheme: string; // "http:" | "https:"
  authority: string; // host[:port] exactly as written
  path: Part[]; // starts with "/" (or empty → "/")
  query: Part[] | null; // text after "?" (null when the template has no "?")
  expected: { protocol: string; hostname: string; port: string; segments: number; params: number };
};

const MAX_TEMPLATE_LENGTH = 2048;
const MAX_VALUE_LENGTH = 2048;
const MAX_URL_LENGTH = 8192;
/** Percent-decoding rounds applied when looking for hidden traversal (bounded). */
const MAX_DECODE_ROUNDS = 4;

const PLACEHOLDER = /\{([A-Za-z_][A-Za-z0-9_]{0,63})\}/g;
/** Printable ASCII only; no space, backslash or fragment. */
const TEMPLATE_CHARS = /^[\x21-\x7e]+$/;

/** Characters that are, or NFKC-normalize to, or look like a dot or a slash in a path. */
const LOOKALIKES = /[\u2024\ufe52\uff0e\u3002\uff61\u2215\u2044\u29f8\u2216\u29f5\ufe68\uff3c\uff0f]/u;
// eslint-disable-next-line no-control-regex
const PATH_FORBIDDEN = /[/\\?#@\u0000-\u001f\u007f-\u009f\u2028\u2029]/u;
/** %2e (dot), %2f (slash), %5c (backslash), also double-encoded (%252e …), and %00. */
const PRE_ENCODED = /%(?:25)*(?:2e|2f|5c|00)/i;

const invalidTemplate: UrlTemplateInvalid = { ok: false, code: "URL_TEMPLATE_INVALID" };
const invalidInput = { ok: false, code: "INPUT_INVALID" } as const;

function tokenize(text: string): Part[] | null {
  const parts: Part[] = [];
  let last = 0;
  for (const m of text.matchAll(PLACEHOLDER)) {
    const idx = m.index ?? 0;
    if (idx > last) parts.push({ literal: text.slice(last, idx) });
    parts.push({ placeholder: m[1] });
    last = idx + m[0].length;
  }
  if (last < text.length) parts.push({ literal: text.slice(last) });
  for (const p of parts) if ("literal" in p && /[{}]/.test(p.literal)) return null; // stray brace
  return parts;
}

function join(parts: Part[], fill: (name: string) => string): string {
  return parts.map((p) => ("literal" in p ? p.literal : fill(p.placeholder))).join("");
}

function countParams(search: string): number {
  return search === "" || search === "?" ? 0 : search.slice(1).split("&").length;
}

function parseTemplate(template: unknown): ParsedTemplate | null {
  if (typeof template !== "string" || template.length === 0 || template.length > MAX_TEMPLATE_LENGTH) return null;
  if (!TEMPLATE_CHARS.test(template) || template.includes("\\") || template.includes("#")) return null;
  const m = /^(https?):\/\/([^/?]+)([^?]*)(\?.*)?$/i.exec(template);
  if (!m) return null;
  const [, schemeRaw, authority, pathText, queryText] = m;
  if (/[{}@]/.test(authority)) return null; // no placeholders or userinfo in the authority
  if (pathText !== "" && !pathText.startsWith("/")) return null;
  const path = tokenize(pathText === "" ? "/" : pathText);
  const query = queryText === undefined ? null : tokenize(queryText.slice(1));
  if (!path || (queryText !== undefined && !query)) return null;

  // The literal parts must already be in the form the URL parser produces (no dot segments,
  // nothing it would re-encode), so that after rendering we can demand an exact path match.
  const neutralPath = join(path, () => "x");
  let u: URL;
  try {
    u = new URL(`${schemeRaw}://${authority}${neutralPath}${query ? "?" + join(query, () => "x") : ""}`);
  } catch {
    return null;
  }
  if (u.username !== "" || u.password !== "" || u.hostname === "") return null;
  if (u.pathname !== neutralPath) return null;
  return {
    scheme: u.protocol,
    authority,
    path,
    query,
    expected: {
      protocol: u.protocol,
      hostname: u.hostname,
      port: u.port,
      segments: u.pathname.split("/").length,
      params: countParams(u.search),
    },
  };
}

/**
 * Validate a template and list its placeholders (for skill-config validation at save time).
 */
export function validateUrlTemplate(template: string): { ok: true; placeholders: Placeholder[] } | UrlTemplateInvalid {
  const t = parseTemplate(template);
  if (!t) return invalidTemplate;
  const placeholders: Placeholder[] = [];
  for (const p of t.path) if ("placeholder" in p) placeholders.push({ name: p.placeholder, in: "path" });
  for (const p of t.query ?? []) if ("placeholder" in p) placeholders.push({ name: p.placeholder, in: "query" });
  return { ok: true, placeholders };
}

function scalarToString(value: unknown): string | null {
  if (typeof value === "string") return value;
  if (typeof value === "number") return Number.isFinite(value) ? String(value) : null;
  if (typeof value === "boolean" || typeof value === "bigint") return String(value);
  return null; // undefined, null, objects, arrays, functions, symbols
}

/** encodeURIComponent, or null for strings it cannot encode (lone surrogates). */
function encode(value: string): string | null {
  try {
    return encodeURIComponent(value);
  } catch {
    return null;
  }
}

/** Is this value safe as (part of) exactly one path segment? */
function isSafePathValue(value: string): boolean {
  if (value.length === 0 || value.length > MAX_VALUE_LENGTH) return false;
  for (const form of [value, value.normalize("NFKC")]) {
    let stage = form;
    for (let round = 0; round <= MAX_DECODE_ROUNDS; round++) {
      if (stage === "." || stage === ".." || PATH_FORBIDDEN.test(stage) || LOOKALIKES.test(stage)) return false;
      let next: string;
      try {
        next = decodeURIComponent(stage);
      } catch {
        break;
      }
      if (next === stage) break;
      stage = next;
    }
  }
  return true;
}

/**
 * A rendered segment that holds a placeholder must not become a dot segment or a separator after
 * any number of decodings, even when several values or literals combine (`{a}{b}`, `%25{x}`).
 */
function isSafeRenderedSegment(encoded: string): boolean {
  let stage = encoded;
  for (let round = 0; round <= MAX_DECODE_ROUNDS; round++) {
    let next: string;
    try {
      next = decodeURIComponent(stage);
    } catch {
      return true; // not decodable further: no more hidden characters
    }
    if (next === "." || next === ".." || /[/\\]/.test(next) || PRE_ENCODED.test(next)) return false;
    if (next === stage) return true;
    stage = next;
  }
  return false; // still changing after the bound: refuse
}

/**
 * Render a template with parameters. Strings are used as-is; finite numbers, booleans and
 * bigints are stringified; anything else (missing, null, objects, arrays) → INPUT_INVALID.
 */
export function renderUrlTemplate(template: string, params: Record<string, unknown>): RenderResult {
  const t = parseTemplate(template);
  if (!t) return invalidTemplate;
  if (typeof params !== "object" || params === null) return invalidInput;

  const values = new Map<string, string>();
  const names = [...t.path, ...(t.query ?? [])].flatMap((p) => ("placeholder" in p ? [p.placeholder] : []));
  for (const name of names) {
    if (!Object.prototype.hasOwnProperty.call(params, name)) return invalidInput;
    const s = scalarToString(params[name]);
    if (s === null || s.length > MAX_VALUE_LENGTH) return invalidInput;
    values.set(name, s);
  }

  let bad = false;
  const path = join(t.path, (name) => {
    const v = values.get(name) ?? "";
    const enc = isSafePathValue(v) ? encode(v) : null;
    if (enc === null) bad = true;
    return enc ?? "";
  });
  const query =
    t.query === null
      ? ""
      : "?" +
        join(t.query, (name) => {
          const enc = encode(values.get(name) ?? "");
          if (enc === null) bad = true;
          return enc ?? "";
        });
  if (bad) return invalidInput;
  const marked = join(t.path, () => "\u0000").split("/");
  const segments = path.split("/");
  if (segments.length !== marked.length) return invalidInput;
  for (let i = 0; i < segments.length; i++) {
    if (marked[i].includes("\u0000") && !isSafeRenderedSegment(segments[i])) return invalidInput;
  }

  const rendered = `${t.scheme}//${t.authority}${path}${query}`;
  if (rendered.length > MAX_URL_LENGTH) return invalidInput;

  // Defensive: the rendered URL must have the template's scheme, host, port and path shape.
  let u: URL;
  try {
    u = new URL(rendered);
  } catch {
    return invalidInput;
  }
  const e = t.expected;
  if (
    u.protocol !== e.protocol ||
    u.hostname !== e.hostname ||
    u.port !== e.port ||
    u.username !== "" ||
    u.password !== "" ||
    u.hash !== "" ||
    u.pathname !== path ||
    u.pathname.split("/").length !== e.segments ||
    countParams(u.search) !== e.params
  ) {
    return invalidInput;
  }
  return { ok: true, url: u.href };
}
