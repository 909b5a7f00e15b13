/**
 * The registry's own contract: every definition is complete, and what is derived from the
 * definitions (secret redaction, limit keys, settings, connect flows) holds for every type,
 * including one added tomorrow. A definition that lacks a piece fails here, by its type.
 */
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createLogger, createScrubbingLogger, redactedFieldNames, secretFieldsOf } from '@upload-fleet/core';
import * as registered from '../src/all.js';
import { baseResultSchema, type DestinationDefinition } from '../src/definition.js';
import {
  CONNECT_PLATFORMS,
  DEFINITIONS,
  DESTINATION_TYPES,
  OAUTH_PROVIDERS,
  SECRET_FIELD_NAMES,
  defaultDestinationsConfig,
  destinationsConfig,
  destinationSchema,
  destinationSettingVariables,
  expandDeliveryTemplates,
  limitKeyOf,
  validateDeliveryRequest,
  type Destination,
} from '../src/definitions.js';

function capture() {
  const lines: string[] = [];
  return { stream: { write: (line: string) => void lines.push(line) }, text: () => lines.join('') };
}

/** The definition's example with every secret field set to a value that names its field. */
function withPlantedSecrets(definition: DestinationDefinition): Record<string, unknown> {
  const planted: Record<string, unknown> = { ...definition.example };
  for (const field of secretFieldsOf(definition.schema)) {
    planted[field] = field === 'headers' ? { 'X-Planted': `planted-${definition.type}-${field}` } : `planted-${definition.type}-${field}`;
  }
  return planted;
}

describe.each(DEFINITIONS.map((definition) => [definition.type, definition] as const))('the %s definition', (type, definition) => {
  it('is registered under its own type, and its schema accepts only that type', () => {
    expect((registered as Record<string, DestinationDefinition>)[type]).toBe(definition);
    const typeField = definition.schema.shape.type as z.ZodType;
    expect(typeField).toBeInstanceOf(z.ZodLiteral);
    expect((typeField as z.ZodLiteral).value).toBe(type);
    // Unknown fields are errors, never silently dropped (a typo in a secret's name must fail).
    expect(definition.schema.safeParse({ ...definition.example, not_a_parameter: 1 }).success).toBe(false);
  });

  it('has a label and a dashboard description', () => {
    expect(definition.label.trim().length).toBeGreaterThan(1);
    expect(definition.description.trim().length).toBeGreaterThan(10);
  });

  it('has an example that validates, alone and inside a delivery request', () => {
    const parsed = definition.schema.safeParse(definition.example);
    expect(parsed.error?.issues ?? []).toEqual([]);
    const request = validateDeliveryRequest({ source: { path: 'renders/welcome.mp4' }, upload: { destination: definition.example } });
    expect(request.ok ? [] : request.problems).toEqual([]);
  });

  it('describes its result with at least the url and bytes every destination reports', () => {
    for (const field of Object.keys(baseResultSchema.shape)) expect(Object.keys(definition.result.shape)).toContain(field);
  });

  it('derives a limit key that never contains a secret', () => {
    const destination = destinationSchema.parse(withPlantedSecrets(definition)) as Destination;
    const key = limitKeyOf(destination);
    expect(key.length).toBeGreaterThan(0);
    expect(key).not.toMatch(/planted-/);
    for (const window of definition.limits.defaults.windows) {
      expect(Number.isInteger(window.limit) && window.limit > 0).toBe(true);
      expect(window.windowMs).toBeGreaterThan(0);
    }
    if (definition.limits.defaults.concurrency !== undefined) expect(definition.limits.defaults.concurrency).toBeGreaterThan(0);
  });

  it('reads its operator settings with the fleet\'s builders: nothing required, names in the <TYPE>_ style', () => {
    const values = destinationsConfig.safeLoad({});
    expect(values.ok ? [] : values.problems).toEqual([]);
    for (const variable of destinationSettingVariables().filter((v) => v.type === type)) {
      expect(variable.name, variable.name).toMatch(/^[A-Z][A-Z0-9_]+$/);
      // A duration's unit is in its name (UPLOAD_TIMEOUT_MS), as the fleet's settings rule says.
      if (variable.unit === 'ms') expect(variable.name).toMatch(/_MS$/);
    }
  });

  it('hides every secret field in logs, by name and by value', () => {
    const secrets = secretFieldsOf(definition.schema);
    for (const field of secrets) expect(redactedFieldNames()).toContain(field.toLowerCase());
    const out = capture();
    const planted = withPlantedSecrets(definition);
    createLogger({ level: 'info' }, out.stream).info({ destination: planted }, 'received');
    expect(out.text()).not.toMatch(/planted-/);
    // The scoped logger of an adapter also hides the values wherever they show up.
    const values = secrets.map((field) => (field === 'headers' ? `planted-${type}-${field}` : String(planted[field])));
    const scoped = capture();
    createScrubbingLogger(createLogger({ level: 'info' }, scoped.stream), values).info({ note: `token ${values.join(' ')}` }, `sending ${values.join(',')}`);
    expect(scoped.text()).not.toMatch(/planted-/);
  });

  it('declares its target-path field (or null), and that field takes filename templates', () => {
    // Declared, not left out: a new definition must say where its file lands, or that it names none.
    expect(Object.hasOwn(definition, 'targetPath'), `${type} must declare targetPath in its definition`).toBe(true);
    const field = definition.targetPath;
    if (field === null) {
      // A destination with a filename must name it as its target path.
      expect(Object.keys(definition.schema.shape)).not.toContain('filename');
      return;
    }
    expect(Object.keys(definition.schema.shape)).toContain(field);
    const example = definition.example as Record<string, unknown>;
    expect(typeof example[field]).toBe('string');
    const input = {
      source: { path: 'renders/welcome.mov' },
      metadata: { show: 'evening' },
      upload: { destination: { ...example, [field]: `${String(example[field]).replace(/[^/]*$/, '')}\${metadata.show}/\${date:YYYY-MM-DD}/\${token}-\${index}.\${extension}` } },
    };
    const validated = validateDeliveryRequest(input);
    if (!validated.ok) throw new Error(JSON.stringify(validated.problems));
    const expanded = expandDeliveryTemplates(input, validated.value, { token: 'dlv_T', now: new Date(Date.UTC(2026, 0, 2)) });
    if (!expanded.ok) throw new Error(JSON.stringify(expanded.problems));
    expect((expanded.value.upload!.destination as Record<string, unknown>)[field]).toMatch(/evening\/2026-01-02\/dlv_T-0\.mov$/);
    const unknown = validateDeliveryRequest({ ...input, upload: { destination: { ...example, [field]: 'a-${nope}.mp4' } } });
    expect(unknown.ok ? [] : unknown.problems).toEqual([{ path: `upload.destination.${field}`, message: expect.stringContaining('${nope} is not a known variable') }]);
  });

  it('loads an adapter of its own type', async () => {
    const adapter = await (definition.loadAdapter as (settings: unknown) => Promise<{ type: string; upload: unknown }>)(
      (defaultDestinationsConfig() as Record<string, unknown>)[type],
    );
    expect(adapter.type).toBe(type);
    expect(typeof adapter.upload).toBe('function');
  });
});

describe.each(CONNECT_PLATFORMS.map((p) => [p.platform, p] as const))('the %s connect flow', (type, { connect }) => {
  const definition = DEFINITIONS.find((d) => d.type === type)!;

  it('has a secret auth_secret field and a complete OAuth provider', () => {
    expect(secretFieldsOf(definition.schema)).toContain('auth_secret');
    expect(connect.provider.id).toMatch(/^[a-z][a-z0-9-]*$/);
    expect(connect.provider.env).toMatch(/^[A-Z][A-Z0-9_]*$/);
    expect(() => new URL(connect.provider.authUrl)).not.toThrow();
    expect(() => new URL(connect.provider.tokenUrl)).not.toThrow();
    expect(definition.schema.safeParse({ ...connect.example, type, auth_secret: 'ufc_x.y' }).error?.issues ?? []).toEqual([]);
  });
});

describe('what the registry derives', () => {
  it('lists every type once, in the discriminated union too', () => {
    expect(new Set(DESTINATION_TYPES).size).toBe(DEFINITIONS.length);
    expect(DESTINATION_TYPES).toEqual(DEFINITIONS.map((d) => d.type));
    for (const definition of DEFINITIONS) expect(destinationSchema.safeParse(definition.example).success).toBe(true);
    expect(destinationSchema.safeParse({ type: 'not-a-type' }).error?.issues[0]?.message).toContain(DESTINATION_TYPES.map((t) => `"${t}"`).join(', '));
  });

  it('gathers the secret field names of every schema', () => {
    for (const definition of DEFINITIONS) for (const field of secretFieldsOf(definition.schema)) expect(SECRET_FIELD_NAMES).toContain(field);
  });

  it('gives no two types the same settings variable', () => {
    const names = destinationSettingVariables().map((v) => v.name);
    expect(new Set(names).size).toBe(names.length);
  });

  it('lists each OAuth provider once, however many destinations share it', () => {
    const ids = OAUTH_PROVIDERS.map((p) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(new Set(CONNECT_PLATFORMS.map((p) => p.connect.provider.id))).toEqual(new Set(ids));
  });
});
