/**
 * A small, safe reader for RSS 2.0, RSS 1.0 (RDF) and Atom feeds, for the `rss_feed` template.
 * It is a tag scanner, not a general XML parser: no DTDs (an internal subset is refused), no
 * entity expansion beyond the five predefined entities and numeric character references, bounded
 * input, nesting and item count. Links other than http(s) are dropped.
 */

export type FeedItem = { title: string; link: string | null; published: string | null };
export type Feed = { title: string; items: FeedItem[] };
export type FeedResult = { ok: true; feed: Feed } | { ok: false; code: "UPSTREAM_ERROR" };

export const MAX_FEED_CHARS = 2 * 1024 * 1024;
export const MAX_FEED_ITEMS = 50;
const MAX_DEPTH = 64;
const MAX_FIELD = 1000;

const NAMED: Record<string, string> = { amp: "&", lt: "<", gt: ">", quot: '"', apos: "'" };

/** Decodes the predefined entities and numeric references; unknown entities stay as text. */
export function decodeEntities(s: string): string {
  return s.replace(/&(#x[0-9a-fA-F]{1,6}|#[0-9]{1,7}|[a-zA-Z]{2,4});/g, (all, ref: string) => {
    if (ref[0] === "#") {
      const code = ref[1] === "x" || ref[1] === "X" ? parseInt(ref.slice(2), 16) : parseInt(ref.slice(1), 10);
      if (!Number.isFinite(code) || code <= 0 || code > 0x10ffff || (code >= 0xd800 && code <= 0xdfff)) return "\uFFFD";
      return String.fromCodePoint(code);
    }
    return NAMED[ref] ?? all;
  });
}

function parseAttrs(s: string): Record<string, string> {
  const out: Record<string, string> = {};
  const re = /([A-Za-z_:][\w:.-]*)\s*=\s*("([^"]*)"|'([^']*)')/g;
  for (let m = re.exec(s); m; m = re.exec(s)) out[m[1].toLowerCase()] = decodeEntities(m[3] ?? m[4] ?? "");
  return out;
}

function localName(tag: string): string {
  const i = tag.indexOf(":");
  return (i >= 0 ? tag.slice(i + 1) : tag).toLowerCase();
}

function clean(s: string): string {
  const t = s.replace(/\s+/g, " ").trim();
  return t.length > MAX_FIELD ? t.slice(0, MAX_FIELD) : t;
}

function safeLink(s: string | null | undefined): string | null {
  if (!s) return null;
  try {
    const u = new URL(s.trim());
    return u.protocol === "https:" || u.protocol === "http:" ? u.href : null;
  } catch {
    return null;
  }
}

/** Parses a feed document. Anything that is not a recognizable feed is UPSTREAM_ERROR. */
export function parseFeed(xml: string, maxItems = 10): FeedResult {
  const bad: FeedResult = { ok: false, code: "UPSTREAM_ERROR" };
  if (typeof xml !== "string" || xml.length > MAX_FEED_CHARS) return bad;
  const limit = Math.max(1, Math.min(MAX_FEED_ITEMS, Math.floor(maxItems)));

  const stack: string[] = [];
  let feedTitle = "";
  let kind: "rss" | "atom" | null = null;
  let item: { title: string; link: string | null; published: string | null; altLink: string | null } | null = null;
  const items: FeedItem[] = [];
  let text = "";

  const flushItem = () => {
    if (item && items.length < limit) {
      items.push({ title: clean(item.title), link: item.link ?? item.altLink, published: item.published });
    }
    item = null;
  };

  let i = 0;
  while (i < xml.length) {
    const lt = xml.indexOf("<", i);
    if (lt < 0) break;
    text += decodeEntities(xml.slice(i, lt));
    if (xml.startsWith("<!--", lt)) {
      const end = xml.indexOf("-->", lt + 4);
      if (end < 0) return bad;
      i = end + 3;
      continue;
    }
    if (xml.startsWith("<![CDATA[", lt)) {
      const end = xml.indexOf("]]>", lt + 9);
      if (end < 0) return bad;
      text += xml.slice(lt + 9, end);
      i = end + 3;
      continue;
    }
    if (xml.startsWith("<!", lt)) {
      // DOCTYPE or other declarations: refuse internal subsets (entity definitions), skip the rest.
      const end = xml.indexOf(">", lt);
      if (end < 0) return bad;
      if (xml.slice(lt, end).includes("[")) return bad;
      i = end + 1;
      continue;
    }
    if (xml.startsWith("<?", lt)) {
      const end = xml.indexOf("?>", lt);
      if (end < 0) return bad;
      i = end + 2;
      continue;
    }
    const gt = xml.indexOf(">", lt);
    if (gt < 0) return bad;
    const raw = xml.slice(lt + 1, gt);
    i = gt + 1;

    if (raw.startsWith("/")) {
      const name = localName(raw.slice(1).trim());
      const top = stack.pop();
      if (top !== name) return bad;
      const parent = stack[stack.length - 1];
      const value = text;
      if (item && (parent === "item" || parent === "entry")) {
        if (name === "title") item.title = value;
        else if (name === "link" && kind === "rss") item.link = safeLink(value);
        else if (name === "pubdate" || name === "published" || name === "date") item.published = clean(value) || null;
        else if (name === "updated" && !item.published) item.published = clean(value) || null;
      } else if (name === "title" && (parent === "channel" || parent === "feed") && !feedTitle) {
        feedTitle = clean(value);
      }
      if (name === "item" || name === "entry") flushItem();
      text = "";
      continue;
    }

    const selfClosing = raw.endsWith("/");
    const body = selfClosing ? raw.slice(0, -1) : raw;
    const m = /^([A-Za-z_][\w:.-]*)/.exec(body);
    if (!m) return bad;
    const name = localName(m[1]);
    if (stack.length === 0) {
      if (name === "rss" || name === "rdf") kind = "rss";
      else if (name === "feed") kind = "atom";
      else return bad;
    }
    if (name === "item" || name === "entry") item = { title: "", link: null, published: null, altLink: null };
    if (name === "link" && item && kind === "atom") {
      const attrs = parseAttrs(body.slice(m[1].length));
      const rel = attrs.rel ?? "alternate";
      const href = safeLink(attrs.href);
      if (rel === "alternate" && href) item.link = href;
      else if (href && !item.altLink) item.altLink = href;
    }
    text = "";
    if (!selfClosing) {
      stack.push(name);
      if (stack.length > MAX_DEPTH) return bad;
    }
    if (items.length >= limit && stack.length <= 2 && !item) break;
  }
  if (kind === null) return bad;
  return { ok: true, feed: { title: feedTitle, items } };
}
