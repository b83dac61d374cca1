/**
 * Image validation by content, not by name or declared type. Accepts PNG, JPEG, GIF and WebP
 * only; the file must be exactly one well-formed image container with nothing after its end
 * marker, and must not carry markup, scripts or an archive (polyglots). Pure; no Convex imports.
 */

export type ImageFormat = "png" | "jpeg" | "gif" | "webp";
export type ImageInfo = { format: ImageFormat; mimeType: string; width: number; height: number; bytes: number };
export type SniffResult = { ok: true; info: ImageInfo } | { ok: false; code: "IMAGE_INVALID"; reason: string };

export const DEFAULT_MAX_IMAGE_BYTES = 5 * 1024 * 1024;
export const MAX_DIMENSION = 16_384;
export const MAX_PIXELS = 100_000_000;

const MIME: Record<ImageFormat, string> = {
  png: "image/png",
  jpeg: "image/jpeg",
  gif: "image/gif",
  webp: "image/webp",
};

/**
 * Byte strings that mark executable or markup content hidden in an image (case-insensitive ASCII).
 * All at least 5 bytes, so compressed pixel data practically never matches by chance.
 */
const MARKERS = [
  "<script",
  "<?php",
  "<html",
  "<!doctype",
  "<iframe",
  "<object",
  "<embed",
  "<body",
  "onerror=",
  "onload=",
  "javascript:",
];
/** ZIP end-of-central-directory record: zip readers look for it in the last 64 KiB + 22 bytes. */
const ZIP_EOCD = [0x50, 0x4b, 0x05, 0x06];
const ZIP_TAIL_WINDOW = 65_557;

const fail = (reason: string): SniffResult => ({ ok: false, code: "IMAGE_INVALID", reason });

function startsWith(b: Uint8Array, sig: number[], at = 0): boolean {
  if (b.length < at + sig.length) return false;
  for (let i = 0; i < sig.length; i++) if (b[at + i] !== sig[i]) return false;
  return true;
}

function ascii(b: Uint8Array, at: number, n: number): string {
  let s = "";
  for (let i = 0; i < n && at + i < b.length; i++) s += String.fromCharCode(b[at + i]);
  return s;
}

const u32be = (b: Uint8Array, i: number) => ((b[i] << 24) >>> 0) + (b[i + 1] << 16) + (b[i + 2] << 8) + b[i + 3];
const u16be = (b: Uint8Array, i: number) => (b[i] << 8) | b[i + 1];
const u16le = (b: Uint8Array, i: number) => b[i] | (b[i + 1] << 8);
const u24le = (b: Uint8Array, i: number) => b[i] | (b[i + 1] << 8) | (b[i + 2] << 16);
const u32le = (b: Uint8Array, i: number) => (b[i] | (b[i + 1] << 8) | (b[i + 2] << 16)) + ((b[i + 3] << 24) >>> 0);

/** Case-insensitive search for any marker anywhere in the bytes. */
export function findMarker(b: Uint8Array): string | null {
  const lowered = MARKERS.map((m) => Array.from(m, (c) => c.charCodeAt(0)));
  for (let i = 0; i < b.length; i++) {
    const c = b[i] | 0x20; // ASCII lower-case for letters; harmless for the symbols we start with
    for (let m = 0; m < lowered.length; m++) {
      const pat = lowered[m];
      if (c !== (pat[0] | 0x20)) continue;
      let j = 1;
      for (; j < pat.length; j++) {
        const x = b[i + j];
        if (x === undefined) break;
        const p = pat[j];
        const isLetter = p >= 0x61 && p <= 0x7a;
        if ((isLetter ? x | 0x20 : x) !== p) break;
      }
      if (j === pat.length) return MARKERS[m];
    }
  }
  return null;
}

function hasZipTrailer(b: Uint8Array): boolean {
  for (let i = Math.max(0, b.length - ZIP_TAIL_WINDOW); i + 4 <= b.length; i++) {
    if (startsWith(b, ZIP_EOCD, i)) return true;
  }
  return false;
}

// ---------------------------------------------------------------------------------------------
// containers: each returns dimensions and the offset just past the end marker, or a reason

type Parsed = { width: number; height: number; end: number } | string;

const PNG_SIG = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

function parsePng(b: Uint8Array): Parsed {
  let i = 8;
  let width = 0;
  let height = 0;
  let first = true;
  while (i + 12 <= b.length) {
    const len = u32be(b, i);
    const type = ascii(b, i + 4, 4);
    if (!/^[A-Za-z]{4}$/.test(type)) return "png chunk type";
    if (len > 0x7fffffff || i + 12 + len > b.length) return "png chunk length";
    if (first) {
      if (type !== "IHDR" || len !== 13) return "png IHDR";
      width = u32be(b, i + 8);
      height = u32be(b, i + 12);
      first = false;
    }
    i += 12 + len;
    if (type === "IEND") return { width, height, end: i };
  }
  return "png without IEND";
}

function parseJpeg(b: Uint8Array): Parsed {
  let i = 2;
  let width = 0;
  let height = 0;
  while (i + 4 <= b.length) {
    if (b[i] !== 0xff) return "jpeg marker";
    let marker = b[i + 1];
    while (marker === 0xff && i + 2 < b.length) {
      i++; // fill bytes
      marker = b[i + 1];
    }
    if (marker === 0xd8 || marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) {
      i += 2;
      continue;
    }
    if (marker === 0xd9) return "jpeg EOI before image data";
    const len = u16be(b, i + 2);
    if (len < 2 || i + 2 + len > b.length) return "jpeg segment length";
    const isSof = marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc;
    if (isSof) {
      if (len < 7) return "jpeg SOF";
      height = u16be(b, i + 5);
      width = u16be(b, i + 7);
    }
    i += 2 + len;
    if (marker === 0xda) {
      // Entropy-coded data: bytes 0xFF are followed by 0x00 (stuffing), RSTn, or a real marker.
      while (i + 1 < b.length) {
        if (b[i] === 0xff && b[i + 1] === 0xd9) {
          if (!width || !height) return "jpeg without SOF";
          return { width, height, end: i + 2 };
        }
        i++;
      }
      return "jpeg without EOI";
    }
  }
  return "jpeg truncated";
}

function skipSubBlocks(b: Uint8Array, i: number): number {
  while (i < b.length) {
    const n = b[i];
    i += 1;
    if (n === 0) return i;
    i += n;
  }
  return -1;
}

function parseGif(b: Uint8Array): Parsed {
  if (b.length < 13) return "gif header";
  const width = u16le(b, 6);
  const height = u16le(b, 8);
  const flags = b[10];
  let i = 13;
  if (flags & 0x80) i += 3 * (1 << ((flags & 7) + 1));
  while (i < b.length) {
    const block = b[i];
    if (block === 0x3b) return { width, height, end: i + 1 };
    if (block === 0x21) {
      if (i + 2 > b.length) return "gif extension";
      i = skipSubBlocks(b, i + 2);
    } else if (block === 0x2c) {
      if (i + 10 > b.length) return "gif image descriptor";
      const lflags = b[i + 9];
      i += 10;
      if (lflags & 0x80) i += 3 * (1 << ((lflags & 7) + 1));
      i = skipSubBlocks(b, i + 1); // LZW minimum code size, then data
    } else {
      return "gif block";
    }
    if (i < 0) return "gif truncated";
  }
  return "gif without trailer";
}

function parseWebp(b: Uint8Array): Parsed {
  if (b.length < 30) return "webp header";
  const riffSize = u32le(b, 4);
  const end = 8 + riffSize;
  if (riffSize % 2 !== 0 || end > b.length) return "webp size";
  const kind = ascii(b, 12, 4);
  let width = 0;
  let height = 0;
  if (kind === "VP8 ") {
    if (b[23] !== 0x9d || b[24] !== 0x01 || b[25] !== 0x2a) return "webp VP8";
    width = u16le(b, 26) & 0x3fff;
    height = u16le(b, 28) & 0x3fff;
  } else if (kind === "VP8L") {
    if (b[20] !== 0x2f) return "webp VP8L";
    const bits = u32le(b, 21);
    width = (bits & 0x3fff) + 1;
    height = ((bits >>> 14) & 0x3fff) + 1;
  } else if (kind === "VP8X") {
    width = u24le(b, 24) + 1;
    height = u24le(b, 27) + 1;
  } else {
    return "webp chunk";
  }
  // Walk the chunks so every byte up to the RIFF end belongs to a chunk.
  let i = 12;
  while (i < end) {
    if (i + 8 > end) return "webp chunk header";
    const len = u32le(b, i + 4);
    i += 8 + len + (len % 2);
    if (i > end) return "webp chunk length";
  }
  return { width, height, end };
}

/**
 * Identify and vet an image. `maxBytes` defaults to 5 MB. Rejects: other formats (SVG, HTML, PDF,
 * executables), truncated or malformed containers, data after the end marker, ZIP trailers,
 * markup/script markers anywhere, zero or oversized dimensions.
 */
export function sniffImage(bytes: Uint8Array, maxBytes: number = DEFAULT_MAX_IMAGE_BYTES): SniffResult {
  if (!(bytes instanceof Uint8Array) || bytes.length === 0) return fail("empty");
  if (bytes.length > maxBytes) return fail("too large");
  let format: ImageFormat;
  let parsed: Parsed;
  if (startsWith(bytes, PNG_SIG)) {
    format = "png";
    parsed = parsePng(bytes);
  } else if (startsWith(bytes, [0xff, 0xd8, 0xff])) {
    format = "jpeg";
    parsed = parseJpeg(bytes);
  } else if (ascii(bytes, 0, 6) === "GIF87a" || ascii(bytes, 0, 6) === "GIF89a") {
    format = "gif";
    parsed = parseGif(bytes);
  } else if (ascii(bytes, 0, 4) === "RIFF" && ascii(bytes, 8, 4) === "WEBP") {
    format = "webp";
    parsed = parseWebp(bytes);
  } else {
    return fail("unsupported format");
  }
  if (typeof parsed === "string") return fail(parsed);
  if (parsed.end !== bytes.length) return fail("data after end of image");
  const { width, height } = parsed;
  if (width < 1 || height < 1 || width > MAX_DIMENSION || height > MAX_DIMENSION || width * height > MAX_PIXELS) {
    return fail("dimensions");
  }
  const marker = findMarker(bytes);
  if (marker) return fail("embedded markup");
  if (hasZipTrailer(bytes)) return fail("embedded archive");
  return { ok: true, info: { format, mimeType: MIME[format], width, height, bytes: bytes.length } };
}
