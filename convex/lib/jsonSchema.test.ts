import { describe, expect, test } from "vitest";
import fc from "fast-check";
import { checkInputSchema, validateInput, MAX_INPUT_BYTES } from "./jsonSchema";

const obj = (properties: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({
  type: "object",
  properties,
  ...extra,
});

describe("checkInputSchema", () => {
  test("accepts ordinary object schemas", () => {
    expect(
      checkInputSchema(obj({ q: { type: "string", maxLength: 10 } }, { required: ["q"], additionalProperties: false })),
    ).toEqual({ ok: true });
    expect(
      checkInputSchema(
        obj({ n: { type: ["integer", "null"], minimum: 0 }, tags: { type: "array", items: { enum: ["a", "b"] } } }),
      ),
    ).toEqual({ ok: true });
    expect(checkInputSchema(obj({ s: { type: "string", pattern: "^[a-z]+$", format: "email" } }))).toEqual({
      ok: true,
    });
  });

  test("refuses non-object roots, unknown keywords, refs and bad values, with a path", () => {
    expect(checkInputSchema({ type: "string" })).toMatchObject({ ok: false, path: "$.type" });
    expect(checkInputSchema([])).toMatchObject({ ok: false, path: "$" });
    expect(checkInputSchema(obj({ a: { $ref: "#/x" } }))).toMatchObject({ ok: false, path: "$.properties.a.$ref" });
    expect(checkInputSchema(obj({ a: { type: "strin" } }))).toMatchObject({ ok: false, path: "$.properties.a.type" });
    expect(checkInputSchema(obj({ a: { type: "string", pattern: "([" } }))).toMatchObject({
      ok: false,
      path: "$.properties.a.pattern",
    });
    expect(checkInputSchema(obj({ a: { type: "string", format: "made-up" } }))).toMatchObject({ ok: false });
    expect(checkInputSchema(obj({}, { required: "a" }))).toMatchObject({ ok: false, path: "$.required" });
    expect(checkInputSchema(obj({ a: { maxLength: -1 } }))).toMatchObject({ ok: false });
    expect(checkInputSchema(obj({ a: { unknownKeyword: 1 } }))).toMatchObject({ ok: false });
  });

  test("refuses schemas that are too deep or too large", () => {
    let deep: Record<string, unknown> = { type: "string" };
    for (let i = 0; i < 20; i++) deep = { type: "object", properties: { x: deep } };
    expect(checkInputSchema(deep).ok).toBe(false);
    const big = obj(Object.fromEntries(Array.from({ length: 2000 }, (_, i) => [`p${i}`, { type: "string" }])));
    expect(checkInputSchema(big).ok).toBe(false);
  });
});

describe("validateInput", () => {
  const schema = obj({ q: { type: "string", maxLength: 5 } }, { required: ["q"], additionalProperties: false });

  test("valid and invalid values", () => {
    expect(validateInput(schema, { q: "abc" })).toBe(true);
    expect(validateInput(schema, { q: "abcdef" })).toBe(false);
    expect(validateInput(schema, { q: 1 })).toBe(false);
    expect(validateInput(schema, { q: "a", extra: 1 })).toBe(false);
    expect(validateInput(schema, {})).toBe(false);
    expect(validateInput(schema, null)).toBe(false);
  });

  test("schemas stored as JSON text work (MCP tools may carry $-keywords)", () => {
    const text = JSON.stringify({ $schema: "https://json-schema.org/draft/2020-12/schema", ...schema });
    expect(validateInput(text, { q: "ok" })).toBe(true);
    expect(validateInput(text, { q: 3 })).toBe(false);
  });

  test("fails closed: unusable schema, unresolvable $ref, oversized value", () => {
    expect(validateInput("not json", {})).toBe(false);
    expect(validateInput(42, {})).toBe(false);
    expect(validateInput({ $ref: "https://evil.example/schema.json" }, {})).toBe(false);
    expect(validateInput({ type: "object" }, { big: "x".repeat(MAX_INPUT_BYTES) })).toBe(false);
  });

  test("does not mutate the stored schema", () => {
    const s = structuredClone(schema);
    validateInput(s, { q: "a" });
    expect(s).toEqual(schema);
  });

  test("property: strings longer than maxLength never validate", () => {
    fc.assert(fc.property(fc.string({ minLength: 6, maxLength: 50 }), (q) => !validateInput(schema, { q })));
  });
});
