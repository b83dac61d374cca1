// @vitest-environment node
/**
 * Stored config validators agree with the zod schemas that refuse bad input before any write:
 * the same keys, optional where zod accepts the key missing. The Convex validator can only be
 * looser in values (a string for a regex, a number for a bounded integer), never in structure,
 * so every row the writer could store validates against the schema.
 */
import { describe, expect, test } from "vitest";
import type { z } from "zod";
import { ADAPTERS, PLATFORMS } from "../../convex/channels/platforms/index";
import { channelSettingsValidator, storedSettingsValidator } from "../../convex/channels/tables";
import {
  codeConfigValidator,
  imageConfigValidator,
  skillConfigValidator,
  templateConfigValidator,
  webhookConfigValidator,
} from "../../convex/skills/tables";
import { TEMPLATES, TEMPLATE_IDS } from "../../convex/skills/templates";
import { imageConfigSchema, webhookConfigSchema } from "../../convex/skills/validate";

/** a validator's JSON form (what the deployment stores for the schema); `json` is not in the public type */
const json = (validator: unknown): unknown => (validator as { json: unknown }).json;

type FieldJson = { fieldType: { type: string }; optional: boolean };
type ObjectJson = { type: "object"; value: Record<string, FieldJson> };

/** key → optional, from a Convex object validator's JSON */
function convexFields(json: unknown): Record<string, boolean> {
  const o = json as ObjectJson;
  expect(o.type).toBe("object");
  return Object.fromEntries(Object.entries(o.value).map(([k, f]) => [k, f.optional]));
}
/** key → optional, from a zod strictObject */
function zodFields(schema: z.ZodType): Record<string, boolean> {
  const shape = (schema as unknown as { shape: Record<string, z.ZodType> }).shape;
  return Object.fromEntries(Object.entries(shape).map(([k, f]) => [k, f.safeParse(undefined).success]));
}

describe("stored channel settings", () => {
  test("one member per platform, derived from the adapter's zod schema and its settings form", () => {
    const members = (json(channelSettingsValidator) as { type: string; value: unknown[] }).value;
    expect(members).toHaveLength(PLATFORMS.length);
    PLATFORMS.forEach((p, i) => {
      const fields = convexFields(members[i]);
      expect(fields, p).toEqual(zodFields(ADAPTERS[p].settingsSchema));
      expect(convexFields(json(storedSettingsValidator(p))), p).toEqual(fields);
      // the SyncBoard form marks as required exactly what the schema requires
      for (const f of ADAPTERS[p].settingsFields) expect(fields[f.key], `${p}.${f.key}`).toBe(!f.required);
      for (const f of Object.values((members[i] as ObjectJson).value)) expect(f.fieldType.type).toBe("string");
    });
  });
});

describe("stored skill config", () => {
  test("one member per template, same keys and optionality as the template's configSchema", () => {
    const members = (json(templateConfigValidator) as { value: ObjectJson[] }).value;
    expect(members.map((m) => (m.value.template.fieldType as unknown as { value: string }).value)).toEqual([
      ...TEMPLATE_IDS,
    ]);
    TEMPLATE_IDS.forEach((id, i) =>
      expect(convexFields(members[i]), id).toEqual(zodFields(TEMPLATES[id].configSchema)),
    );
  });

  test("webhook and image configs match their zod schemas; code skills store module and source hash", () => {
    expect(convexFields(json(webhookConfigValidator))).toEqual(zodFields(webhookConfigSchema));
    expect(convexFields(json(imageConfigValidator))).toEqual(zodFields(imageConfigSchema));
    expect(convexFields(json(codeConfigValidator))).toEqual({ module: false, sourceHash: false });
    expect((json(skillConfigValidator) as { value: unknown[] }).value).toHaveLength(TEMPLATE_IDS.length + 3);
  });
});
