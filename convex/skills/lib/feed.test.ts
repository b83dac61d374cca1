import { describe, expect, test } from "vitest";
import fc from "fast-check";
import { parseFeed, decodeEntities } from "./feed";

const rss = `<?xml version="1.0"?>
<rss version="2.0"><channel><title>News &amp; Notes</title>
<item><title>First</title><link>https://example.com/1</link><pubDate>Mon, 01 Jan 2024 00:00:00 GMT</pubDate><description><![CDATA[<p>hi</p>]]></description></item>
<item><title><![CDATA[Second <b>bold</b>]]></title><link>javascript:alert(1)</link></item>
<item><title>Third</title><link>https://example.com/3</link></item>
</channel></rss>`;

const atom = `<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>Blog</title>
<entry><title>Post A</title><link rel="self" href="https://example.com/a.json"/><link href="https://example.com/a"/><published>2024-02-01T00:00:00Z</published></entry>
<entry><title type="html">Post &lt;B&gt;</title><link rel="alternate" href="https://example.com/b"/><updated>2024-02-02T00:00:00Z</updated></entry>
</feed>`;

describe("feed reader", () => {
  test("RSS 2.0", () => {
    const r = parseFeed(rss, 10);
    expect(r).toEqual({
      ok: true,
      feed: {
        title: "News & Notes",
        items: [
          { title: "First", link: "https://example.com/1", published: "Mon, 01 Jan 2024 00:00:00 GMT" },
          { title: "Second <b>bold</b>", link: null, published: null },
          { title: "Third", link: "https://example.com/3", published: null },
        ],
      },
    });
  });

  test("Atom, alternate link preferred, updated as fallback date", () => {
    const r = parseFeed(atom);
    expect(r.ok && r.feed.items).toEqual([
      { title: "Post A", link: "https://example.com/a", published: "2024-02-01T00:00:00Z" },
      { title: "Post <B>", link: "https://example.com/b", published: "2024-02-02T00:00:00Z" },
    ]);
  });

  test("item cap", () => {
    const r = parseFeed(rss, 1);
    expect(r.ok && r.feed.items.length).toBe(1);
  });

  test("no entity expansion: DTD internal subsets are refused, unknown entities stay text", () => {
    const bomb = `<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;">]><rss><channel><title>&b;</title></channel></rss>`;
    expect(parseFeed(bomb)).toEqual({ ok: false, code: "UPSTREAM_ERROR" });
    const ext = `<rss><channel><title>&xxe;</title></channel></rss>`;
    expect(parseFeed(ext)).toEqual({ ok: true, feed: { title: "&xxe;", items: [] } });
    expect(decodeEntities("&#x1F600;&#65;&lt;&unknown;&#xD800;")).toBe("😀A<&unknown;\uFFFD");
  });

  test("not a feed", () => {
    expect(parseFeed("<html><body>hi</body></html>").ok).toBe(false);
    expect(parseFeed("{}").ok).toBe(false);
    expect(parseFeed("<rss><channel></rss>").ok).toBe(false);
  });

  test("property: never throws on arbitrary text", () => {
    fc.assert(fc.property(fc.string({ maxLength: 200 }), (s) => typeof parseFeed(`<rss>${s}</rss>`).ok === "boolean"));
  });
});
