// @vitest-environment node
import { describe, expect, test } from "vitest";
import { readFileSync } from "node:fs";
import { fileTypeFromBuffer } from "file-type";
import { sniffImage, findMarker } from "./imageSniff";

const fixture = (name: string) =>
  new Uint8Array(readFileSync(new URL(`../../tests/checker/fixtures/images/${name}`, import.meta.url)));
const concat = (...parts: (Uint8Array | string)[]) => {
  const bufs = parts.map((p) => (typeof p === "string" ? new TextEncoder().encode(p) : p));
  const out = new Uint8Array(bufs.reduce((n, b) => n + b.length, 0));
  let i = 0;
  for (const b of bufs) {
    out.set(b, i);
    i += b.length;
  }
  return out;
};
const PNG = fixture("python.png");
const JPG = fixture("python.jpg");
const GIF = fixture("python.gif");
const WEBP = fixture("python.webp");

/** A PNG with an extra ancillary chunk (tEXt) holding `text`, inserted before IEND. */
function pngWithText(text: string): Uint8Array {
  const data = new TextEncoder().encode(`Comment\0${text}`);
  const chunk = new Uint8Array(12 + data.length);
  new DataView(chunk.buffer).setUint32(0, data.length);
  chunk.set(new TextEncoder().encode("tEXt"), 4);
  chunk.set(data, 8);
  return concat(PNG.subarray(0, PNG.length - 12), chunk, PNG.subarray(PNG.length - 12));
}
/** A JPEG with a COM segment holding `text` right after SOI. */
function jpegWithComment(text: string): Uint8Array {
  const data = new TextEncoder().encode(text);
  const seg = new Uint8Array(4 + data.length);
  seg[0] = 0xff;
  seg[1] = 0xfe;
  seg[2] = (data.length + 2) >> 8;
  seg[3] = (data.length + 2) & 0xff;
  seg.set(data, 4);
  return concat(JPG.subarray(0, 2), seg, JPG.subarray(2));
}

describe("accepts the four formats and agrees with file-type", () => {
  test.each([
    ["png", PNG],
    ["jpeg", JPG],
    ["gif", GIF],
    ["webp", WEBP],
  ] as const)("%s", async (format, bytes) => {
    const r = sniffImage(bytes);
    expect(r).toMatchObject({ ok: true, info: { format, width: 16, height: 16, bytes: bytes.length } });
    const ft = await fileTypeFromBuffer(bytes);
    expect(ft?.mime).toBe(r.ok ? r.info.mimeType : "");
  });
  test("benign text chunks are fine", () => {
    expect(sniffImage(pngWithText("a photo of a cat")).ok).toBe(true);
    expect(sniffImage(jpegWithComment("shot on a phone")).ok).toBe(true);
  });
});

describe("rejects everything else", () => {
  test("other formats, SVG, HTML, empty", () => {
    for (const name of ["python.bmp", "python.tiff"]) expect(sniffImage(fixture(name)).ok).toBe(false);
    const svg = new TextEncoder().encode('<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>');
    expect(sniffImage(svg)).toMatchObject({ ok: false, code: "IMAGE_INVALID" });
    expect(sniffImage(new TextEncoder().encode("<!doctype html><html></html>")).ok).toBe(false);
    expect(sniffImage(new Uint8Array()).ok).toBe(false);
  });

  test("polyglots: script in a PNG chunk, PHP/zip after IEND, HTML in a JPEG comment", () => {
    expect(sniffImage(pngWithText("<script>alert(1)</script>"))).toMatchObject({
      ok: false,
      reason: "embedded markup",
    });
    expect(sniffImage(pngWithText("<?php system($_GET['c']); ?>")).ok).toBe(false);
    expect(sniffImage(concat(PNG, "<?php echo 1; ?>"))).toMatchObject({ ok: false, reason: "data after end of image" });
    const zipTail = concat(new Uint8Array([0x50, 0x4b, 0x05, 0x06]), new Uint8Array(18));
    expect(sniffImage(concat(PNG, zipTail)).ok).toBe(false);
    expect(sniffImage(pngWithText(String.fromCharCode(0x50, 0x4b, 5, 6) + "\0".repeat(18)))).toMatchObject({
      ok: false,
      reason: "embedded archive",
    });
    expect(sniffImage(jpegWithComment("<html><body onload=alert(1)>"))).toMatchObject({
      ok: false,
      reason: "embedded markup",
    });
    expect(sniffImage(concat(JPG, "<html>"))).toMatchObject({ ok: false });
    expect(sniffImage(concat(GIF, "x"))).toMatchObject({ ok: false, reason: "data after end of image" });
  });

  test("truncated or corrupted containers", () => {
    expect(sniffImage(PNG.subarray(0, PNG.length - 12)).ok).toBe(false);
    expect(sniffImage(JPG.subarray(0, JPG.length - 2)).ok).toBe(false);
    expect(sniffImage(GIF.subarray(0, GIF.length - 1)).ok).toBe(false);
    expect(sniffImage(WEBP.subarray(0, WEBP.length - 4)).ok).toBe(false);
    const badWebpSize = WEBP.slice();
    new DataView(badWebpSize.buffer).setUint32(4, 10, true);
    expect(sniffImage(badWebpSize).ok).toBe(false);
  });

  test("size limit (default 5 MB) and dimensions", () => {
    expect(sniffImage(PNG, PNG.length - 1)).toMatchObject({ ok: false, reason: "too large" });
    const huge = PNG.slice();
    new DataView(huge.buffer).setUint32(16, 100_000); // IHDR width
    expect(sniffImage(huge)).toMatchObject({ ok: false, reason: "dimensions" });
  });

  test("marker search is case-insensitive", () => {
    expect(findMarker(new TextEncoder().encode("xx<ScRiPt"))).toBe("<script");
    expect(findMarker(new TextEncoder().encode("plain pixels"))).toBeNull();
  });
});
