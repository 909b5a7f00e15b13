import { z } from 'zod';
import {
  blockedAddressProblems,
  defineConfig,
  deliveryRequestSchemaFor,
  secretFieldsOf,
  unsafeInputProblems,
  validate,
  type SettingGroup,
  type SubmitChecks,
  type ValidationProblem,
  type ValidationResult,
  type ValuesOf,
} from '@upload-fleet/core';
import * as registered from './all.js';
import type { ConnectDefinition, DestinationDefinition, LimitDefaults, OAuthProviderDefinition } from './definition.js';
import { expandTemplate, extensionOfSource, templateProblems, type TemplateValues } from './filename-templates.js';

/**
 * Everything that lists or switches over destination types, derived from the registry
 * (`all.ts`). This module and the definitions import no platform SDK: the API and the
 * producer import it (as `@upload-fleet/destinations/definitions`) to validate requests.
 */

type Registered = typeof registered;

/** The destination types of this build: the names `all.ts` exports. */
export type DestinationType = keyof Registered;
export type DefinitionOf<T extends DestinationType> = Registered[T];
/** A validated destination of one type (defaults applied). */
export type DestinationOf<T extends DestinationType> = z.output<Registered[T]['schema']>;
/** A validated destination of any type. */
export type Destination = { [T in DestinationType]: DestinationOf<T> }[DestinationType];
/** The operator's settings of one type, as its adapter receives them. */
export type SettingsOf<T extends DestinationType> = Registered[T] extends DestinationDefinition<string, z.ZodObject, infer S> ? S : never;
/** The operator's settings of every type. */
export type DestinationsConfig = { [T in DestinationType]: SettingsOf<T> };

/** The definitions, in the registry's order. */
export const DEFINITIONS: readonly DestinationDefinition[] = Object.values(registered) as DestinationDefinition[];

export const DESTINATION_TYPES = Object.keys(registered) as DestinationType[];

export function isDestinationType(value: string): value is DestinationType {
  return Object.hasOwn(registered, value);
}

export function definitionOf<T extends DestinationType>(type: T): DefinitionOf<T> {
  return registered[type];
}

/** Each type's destination schema. */
export const destinationSchemas = Object.fromEntries(DEFINITIONS.map((d) => [d.type, d.schema])) as {
  [T in DestinationType]: Registered[T]['schema'];
};

/** A destination of any type, chosen by its `type`. */
export const destinationSchema = z.discriminatedUnion(
  'type',
  DEFINITIONS.map((d) => d.schema) as unknown as [z.ZodObject, ...z.ZodObject[]],
  { error: `type must be one of ${DESTINATION_TYPES.map((t) => `"${t}"`).join(', ')}` },
) as unknown as z.ZodType<Destination, z.input<Registered[DestinationType]['schema']>>;

/** The request of `POST /v1/deliveries`, over every destination type. */
export const deliveryRequestSchema = deliveryRequestSchemaFor(destinationSchema);
export type DeliveryRequest = z.output<typeof deliveryRequestSchema>;
export type DeliveryRequestInput = z.input<typeof deliveryRequestSchema>;
export type UploadSpec = NonNullable<DeliveryRequest['upload']>;

/**
 * Validates a request: input no schema sees (prototype keys, text that is not well-formed
 * Unicode), then the schema, then, with `checks.network`, URLs whose host is a blocked
 * address literal (a 400 now rather than a failed upload later; the worker checks again).
 */
export function validateDeliveryRequest(input: unknown, checks: SubmitChecks = {}): ValidationResult<DeliveryRequest> {
  const unsafe = unsafeInputProblems(input);
  if (unsafe.length > 0) return { ok: false, problems: unsafe };
  const result = validate(deliveryRequestSchema, input);
  if (!result.ok) return result;
  const untimely = submitTimeProblems(result.value, new Date());
  if (untimely.length > 0) return { ok: false, problems: untimely };
  const unknownVariables = targetPathsOf(result.value).flatMap((t) => templateProblems(t.template, t.path, t.values));
  if (unknownVariables.length > 0) return { ok: false, problems: unknownVariables };
  if (!checks.network) return result;
  const refused = blockedAddressProblems(result.value, checks.network);
  return refused.length > 0 ? { ok: false, problems: refused } : result;
}

/** Each destination's `submitProblems` (checks of the moment of submission), at their field paths in the request. */
function submitTimeProblems(request: DeliveryRequest, now: Date): ValidationProblem[] {
  const uploads = request.uploads ? request.uploads.map((upload, index) => ({ upload, at: `uploads.${index}` })) : request.upload ? [{ upload: request.upload, at: 'upload' }] : [];
  return uploads.flatMap(({ upload, at }) => {
    const definition = definitionOf(upload.destination.type) as DestinationDefinition<string, z.ZodObject>;
    return (definition.submitProblems?.(upload.destination, now) ?? []).map((problem) => ({ path: `${at}.destination.${problem.path}`, message: problem.message }));
  });
}

// ---- filename templates (filename-templates.ts) ----

interface TargetPath {
  /** Where the upload sits in the request: `upload` or `uploads.<i>`. */
  at: (string | number)[];
  field: string;
  /** The field's path in the request, for problems: `uploads.1.destination.filename`. */
  path: string;
  template: string;
  values: Pick<TemplateValues, 'extension' | 'metadata' | 'index'>;
}

/** The target-path field of each upload (its definition's `targetPath`), with what its variables stand for. */
function targetPathsOf(request: DeliveryRequest): TargetPath[] {
  return uploadsOf(request).flatMap((upload, index) => {
    const field = (definitionOf(upload.destination.type) as DestinationDefinition).targetPath;
    const template = field === null ? undefined : (upload.destination as Record<string, unknown>)[field];
    if (field === null || typeof template !== 'string') return [];
    const at = request.uploads ? ['uploads', index] : ['upload'];
    return [{
      at,
      field,
      path: [...at, 'destination', field].join('.'),
      template,
      values: { index, extension: upload.extension ?? extensionOfSource(request.source), metadata: request.metadata },
    }];
  });
}

/**
 * The request with every upload's target path expanded (`${token}`, `${date:...}`...), once,
 * for the delivery `token` submitted at `now`: validated again from `input` with the expanded
 * names in place, so a name the destination refuses (a metadata value with ".." for WebDAV) is
 * a 400 at its field. `request` is `input` as `validateDeliveryRequest` accepted it.
 */
export function expandDeliveryTemplates(input: unknown, request: DeliveryRequest, values: Pick<TemplateValues, 'token' | 'now' | 'uuid'>): ValidationResult<DeliveryRequest> {
  const paths = targetPathsOf(request).filter((t) => t.template.includes('${'));
  if (paths.length === 0) return { ok: true, value: request };
  const expandedInput = structuredClone(input) as Record<string, unknown>;
  for (const target of paths) {
    const upload = target.at.reduce<Record<string | number, unknown>>((node, key) => node[key] as Record<string | number, unknown>, expandedInput);
    (upload.destination as Record<string, unknown>)[target.field] = expandTemplate(target.template, { ...values, ...target.values });
  }
  const result = validate(deliveryRequestSchema, expandedInput);
  if (result.ok) return result;
  return { ok: false, problems: result.problems.map((p) => ({ path: p.path, message: `after expanding its variables: ${p.message}` })) };
}

/** The uploads of a request as a list, whether it used `upload` or `uploads`. */
export function uploadsOf(request: DeliveryRequest): UploadSpec[] {
  return request.uploads ?? (request.upload ? [request.upload] : []);
}

/** The secret fields of every type, by name (the producer encrypts them, the logger hides them). */
export const SECRET_FIELD_NAMES: readonly string[] = [...new Set(DEFINITIONS.flatMap((d) => secretFieldsOf(d.schema)))];

/** The secret field names of one type. */
export function secretFieldsOfType(type: DestinationType): string[] {
  return secretFieldsOf(definitionOf(type).schema);
}

// ---- limits ----

/** The account a destination's uploads count against, before an adapter names a better one. */
export function limitKeyOf(destination: Destination): string {
  const definition = definitionOf(destination.type) as DestinationDefinition<string, z.ZodObject>;
  return definition.limits.key(destination);
}

/** Each type's default fleet-wide limits. */
export const DEFAULT_LIMITS = Object.fromEntries(DEFINITIONS.map((d) => [d.type, d.limits.defaults])) as Record<DestinationType, LimitDefaults>;

// ---- operator settings ----

/** Every type's operator variables, in one group (the worker's config spreads it into its own). */
export const destinationsEnvSettings: SettingGroup = Object.assign({}, ...DEFINITIONS.map((d) => d.settings.variables)) as SettingGroup;

/** Each type's settings from the variables' parsed values. */
export function destinationsConfigOf(values: ValuesOf<SettingGroup>): DestinationsConfig {
  return Object.fromEntries(DEFINITIONS.map((d) => [d.type, d.settings.build(values)])) as DestinationsConfig;
}

/** Every type's settings from the environment, every problem listed at once. */
export const destinationsConfig = defineConfig({ label: 'destinations', settings: destinationsEnvSettings, build: destinationsConfigOf });

/** `destinationsConfig` as a zod schema: `.parse(env)` / `.safeParse(env)`. */
export const destinationsEnvSchema = destinationsConfig.schema;

/** The settings with every default, for tests and callers that configure nothing. */
export const defaultDestinationsConfig = (): DestinationsConfig => destinationsConfig.load({});

/** Every settings variable of every type, for docs and checks. */
export function destinationSettingVariables(): { type: DestinationType; name: string; defaultText: string | undefined; unit: string | undefined }[] {
  return DEFINITIONS.flatMap((definition) =>
    Object.values(definition.settings.variables).map((setting) => ({
      type: definition.type as DestinationType,
      name: setting.name,
      defaultText: setting.defaultText,
      unit: setting.unit,
    })),
  );
}

// ---- connect flows (auth_secret) ----

export interface ConnectPlatform {
  /** The destination type, also the path of its connect flow: `/v1/connect/<platform>`. */
  platform: DestinationType;
  /** The destination's name for people: "YouTube". */
  label: string;
  connect: ConnectDefinition;
}

/** The types that offer a connect flow. */
export const CONNECT_PLATFORMS: readonly ConnectPlatform[] = DEFINITIONS.flatMap((d) =>
  d.connect ? [{ platform: d.type as DestinationType, label: d.label, connect: d.connect }] : [],
);

/** The OAuth providers behind them, each once (Google serves every Google destination). */
export const OAUTH_PROVIDERS: readonly OAuthProviderDefinition[] = [...new Map(CONNECT_PLATFORMS.map((p) => [p.connect.provider.id, p.connect.provider])).values()];

export function connectPlatformOf(platform: string): ConnectPlatform | undefined {
  return CONNECT_PLATFORMS.find((p) => p.platform === platform);
}

export function oauthProviderOf(id: string): OAuthProviderDefinition | undefined {
  return OAUTH_PROVIDERS.find((p) => p.id === id);
}

/** The scopes a provider asks for when its `<env>_SCOPES` is unset: those of all its destinations. */
export function defaultScopesOf(provider: OAuthProviderDefinition): string[] {
  return [...new Set(CONNECT_PLATFORMS.filter((p) => p.connect.provider.id === provider.id).flatMap((p) => p.connect.scopes))];
}
