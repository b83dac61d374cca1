/**
 * Twilio's request rules (vendor-specific, used only by the Twilio verifier): the URL candidates
 * and the form-parameter data string exactly as twilio-node 6.2 `validateRequest` builds them,
 * including Node's legacy querystring it relies on.
 */
import { encoder, lenientDecoder } from "../../lib/crypto/bytes";
import { hexNibble } from "../../lib/crypto/encoding";
// ---------------------------------------------------------------------------------------------
// Twilio: URL candidates exactly as twilio-node 6.2 `validateRequest` builds them

interface UrlParts {
  scheme: string;
  userInfo: string;
  host: string;
  port: string;
  rest: string;
}

function splitUrl(url: string): UrlParts | null {
  const m = /^([a-z][a-z0-9+.-]*:\/\/)([^/?#]*)/i.exec(url);
  if (!m) return null;
  const [prefix, scheme, authority] = m;
  const userInfoEnd = authority.lastIndexOf("@");
  const hostAndPort = authority.slice(userInfoEnd + 1);
  const portStart = hostAndPort.indexOf(":", hostAndPort.lastIndexOf("]") + 1);
  return {
    scheme,
    userInfo: authority.slice(0, userInfoEnd + 1),
    host: portStart === -1 ? hostAndPort : hostAndPort.slice(0, portStart),
    port: portStart === -1 ? "" : hostAndPort.slice(portStart),
    rest: url.slice(prefix.length),
  };
}

export function twilioAddPort(url: string): string {
  const p = splitUrl(url);
  if (!p || p.port) return url;
  const port = p.scheme.toLowerCase() === "https://" ? ":443" : ":80";
  return p.scheme + p.userInfo + p.host + port + p.rest;
}

export function twilioRemovePort(url: string): string {
  const p = splitUrl(url);
  if (!p) return url;
  return p.scheme + p.userInfo + p.host + p.rest;
}

/** Re-encodes the query the way Node's legacy `querystring.stringify(parse(q))` does. */
export function twilioLegacyQuerystring(url: string): string {
  const q = url.indexOf("?");
  if (q === -1 || q === url.length - 1) return url;
  return url.slice(0, q) + "?" + nodeQsStringify(nodeQsParse(url.slice(q + 1)));
}

export type FormParams = Record<string, string | string[]>;

/** Twilio's data string after the URL: sorted keys; array values de-duplicated and sorted. */
export function twilioParamString(params: FormParams): string {
  let s = "";
  for (const key of Object.keys(params).sort()) {
    const value = params[key];
    if (Array.isArray(value)) {
      for (const v of Array.from(new Set(value)).sort()) s += key + v;
    } else {
      s += key + value;
    }
  }
  return s;
}

/**
 * application/x-www-form-urlencoded → params, repeated keys as arrays (as Express gives them).
 * Same result as the WHATWG parser (`URLSearchParams`) for strings without lone surrogates
 * (which a body decoded from bytes never has), without its per-pair allocation cost.
 */
export function parseFormBody(body: string): FormParams {
  const out: FormParams = Object.create(null);
  forEachFormPair(body, (name, value) => addKeyVal(out, name, value));
  return out;
}

/** Twilio's data string straight from a form body: `twilioParamString(parseFormBody(body))`. */
export function twilioFormParamString(body: string): string {
  // A Map, not a null-prototype object: key order and lookups stay fast with many fields.
  const byKey = new Map<string, string | string[]>();
  forEachFormPair(body, (name, value) => {
    const cur = byKey.get(name);
    if (cur === undefined) byKey.set(name, value);
    else if (Array.isArray(cur)) cur.push(value);
    else byKey.set(name, [cur, value]);
  });
  let s = "";
  for (const key of Array.from(byKey.keys()).sort()) {
    const value = byKey.get(key) as string | string[];
    if (Array.isArray(value)) {
      for (const v of Array.from(new Set(value)).sort()) s += key + v;
    } else {
      s += key + value;
    }
  }
  return s;
}

function forEachFormPair(body: string, visit: (name: string, value: string) => void): void {
  let start = 0;
  while (start <= body.length) {
    let end = body.indexOf("&", start);
    if (end === -1) end = body.length;
    if (end > start) {
      const eq = body.indexOf("=", start);
      const hasEq = eq !== -1 && eq < end;
      visit(formDecode(body.slice(start, hasEq ? eq : end)), hasEq ? formDecode(body.slice(eq + 1, end)) : "");
    }
    start = end + 1;
  }
}

function formDecode(s: string): string {
  if (s.indexOf("+") !== -1) s = s.replace(/\+/g, " ");
  if (s.indexOf("%") === -1) return s;
  try {
    return decodeURIComponent(s);
  } catch {
    return percentDecodeLenient(s);
  }
}

/** WHATWG percent-decode of the UTF-8 bytes (bad escapes kept literally), then lenient UTF-8 decode. */
function percentDecodeLenient(s: string): string {
  const bytes = encoder.encode(s);
  const out = new Uint8Array(bytes.length);
  let o = 0;
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i];
    if (b === 37 && i + 2 < bytes.length) {
      const hi = hexNibble(bytes[i + 1]);
      const lo = hexNibble(bytes[i + 2]);
      if (hi >= 0 && lo >= 0) {
        out[o++] = (hi << 4) | lo;
        i += 2;
        continue;
      }
    }
    out[o++] = b;
  }
  return lenientDecoder.decode(out.subarray(0, o));
}

function addKeyVal(obj: FormParams, key: string, value: string): void {
  const cur = obj[key];
  if (cur === undefined) obj[key] = value;
  else if (Array.isArray(cur)) cur.push(value);
  else obj[key] = [cur, value];
}

// Node's legacy querystring (lib/querystring.js, Node 20), reproduced for twilioLegacyQuerystring.

function isHexCode(c: number): boolean {
  return hexNibble(c) >= 0;
}

// Only reached after decodeURIComponent failed; "+" was already turned into " " by the parser.
function nodeUnescapeBuffer(s: string): Uint8Array {
  const out = new Uint8Array(s.length);
  let index = 0;
  let o = 0;
  const maxLength = s.length - 2;
  while (index < s.length) {
    let c = s.charCodeAt(index);
    if (c === 37 && index < maxLength) {
      c = s.charCodeAt(++index);
      const hi = hexNibble(c);
      if (hi < 0) {
        out[o++] = 37;
        continue;
      }
      const lo = hexNibble(s.charCodeAt(++index));
      if (lo < 0) {
        out[o++] = 37;
        index--;
      } else {
        c = hi * 16 + lo;
      }
    }
    out[o++] = c & 255;
    index++;
  }
  return out.subarray(0, o);
}

function nodeQsUnescape(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return lenientDecoder.decode(nodeUnescapeBuffer(s));
  }
}

export function nodeQsParse(qs: string): FormParams {
  const obj: FormParams = Object.create(null);
  if (qs.length === 0) return obj;
  let pairs = 1000;
  let lastPos = 0;
  let sepIdx = 0;
  let eqIdx = 0;
  let key = "";
  let value = "";
  let keyEncoded = false;
  let valEncoded = false;
  let encodeCheck = 0;
  const add = () => {
    if (key.length > 0 && keyEncoded) key = nodeQsUnescape(key);
    if (value.length > 0 && valEncoded) value = nodeQsUnescape(value);
    addKeyVal(obj, key, value);
  };
  for (let i = 0; i < qs.length; ++i) {
    const code = qs.charCodeAt(i);
    if (code === 38 /* & */) {
      if (++sepIdx === 1) {
        const end = i;
        if (eqIdx < 1) {
          if (lastPos < end) {
            key += qs.slice(lastPos, end);
          } else if (key.length === 0) {
            if (--pairs === 0) return obj;
            lastPos = i + 1;
            sepIdx = eqIdx = 0;
            continue;
          }
        } else if (lastPos < end) {
          value += qs.slice(lastPos, end);
        }
        add();
        if (--pairs === 0) return obj;
        keyEncoded = valEncoded = false;
        key = value = "";
        encodeCheck = 0;
        lastPos = i + 1;
        sepIdx = eqIdx = 0;
      }
    } else {
      sepIdx = 0;
      if (eqIdx < 1) {
        if (code === 61 /* = */) {
          if (++eqIdx === 1) {
            const end = i;
            if (lastPos < end) key += qs.slice(lastPos, end);
            encodeCheck = 0;
            lastPos = i + 1;
          }
          continue;
        } else {
          eqIdx = 0;
          if (!keyEncoded) {
            if (code === 37) {
              encodeCheck = 1;
              continue;
            } else if (encodeCheck > 0) {
              if (isHexCode(code)) {
                if (++encodeCheck === 3) keyEncoded = true;
                continue;
              } else {
                encodeCheck = 0;
              }
            }
          }
        }
        if (code === 43 /* + */) {
          if (lastPos < i) key += qs.slice(lastPos, i);
          key += " ";
          lastPos = i + 1;
          continue;
        }
      }
      if (code === 43) {
        if (lastPos < i) value += qs.slice(lastPos, i);
        value += " ";
        lastPos = i + 1;
      } else if (!valEncoded) {
        if (code === 37) {
          encodeCheck = 1;
        } else if (encodeCheck > 0) {
          if (isHexCode(code)) {
            if (++encodeCheck === 3) valEncoded = true;
          } else {
            encodeCheck = 0;
          }
        }
      }
    }
  }
  if (lastPos < qs.length) {
    if (eqIdx < 1) key += qs.slice(lastPos);
    else if (sepIdx < 1) value += qs.slice(lastPos);
  } else if (eqIdx === 0 && key.length === 0) {
    return obj;
  }
  add();
  return obj;
}

export function nodeQsStringify(obj: FormParams): string {
  let fields = "";
  for (const k of Object.keys(obj)) {
    const v = obj[k];
    const ks = encodeURIComponent(k) + "=";
    if (Array.isArray(v)) {
      if (v.length === 0) continue;
      if (fields) fields += "&";
      for (let j = 0; j < v.length; ++j) {
        if (j) fields += "&";
        fields += ks + encodeURIComponent(v[j]);
      }
    } else {
      if (fields) fields += "&";
      fields += ks + encodeURIComponent(v);
    }
  }
  return fields;
}
