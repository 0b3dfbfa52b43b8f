import { Ajv } from 'ajv';
import addFormatsModule from 'ajv-formats';
import type { Reply } from './test-app.js';

const addFormats = ((addFormatsModule as { default?: unknown }).default ?? addFormatsModule) as (ajv: Ajv) => Ajv;

type Json = Record<string, unknown>;

/** Replaces `#/components/schemas/X` references by the schemas themselves (ours have no cycles). */
function dereference(value: unknown, components: Json, seen: string[] = []): unknown {
  if (Array.isArray(value)) return value.map((item) => dereference(item, components, seen));
  if (!value || typeof value !== 'object') return value;
  const { $ref, ...rest } = value as Json;
  if (typeof $ref === 'string') {
    const name = $ref.replace('#/components/schemas/', '');
    if (seen.includes(name)) throw new Error(`cyclic schema ${name}`);
    const target = components[name];
    if (!target) throw new Error(`unresolved ${$ref}`);
    return { ...(dereference(target, components, [...seen, name]) as Json), ...rest };
  }
  return Object.fromEntries(Object.entries(rest).map(([key, child]) => [key, dereference(child, components, seen)]));
}

/**
 * Checks answers against the OpenAPI document the app serves: the status must be declared for the route,
 * and a JSON body must match the declared schema for its media type. Returns what does not conform.
 */
export function openApiConformance(document: Json) {
  const ajv = addFormats(new Ajv({ allErrors: true, strict: false }));
  const components = ((document['components'] as Json | undefined)?.['schemas'] ?? {}) as Json;
  const paths = document['paths'] as Record<string, Record<string, Json>>;

  return function nonConformities(method: string, pathTemplate: string, reply: Reply): string[] {
    const operation = paths[pathTemplate]?.[method.toLowerCase()];
    if (!operation) return [`${method} ${pathTemplate} is not in the document`];
    const response = (operation['responses'] as Record<string, Json>)[String(reply.status)];
    if (!response) return [`${method} ${pathTemplate} does not declare ${reply.status}`];
    const content = response['content'] as Record<string, { schema?: Json }> | undefined;
    if (!content) return reply.body === '' || reply.body === undefined ? [] : [`${reply.status} declares no body`];
    const mediaType = (reply.headers.get('content-type') ?? '').split(';')[0]!.trim();
    const declared = Object.entries(content).find(([type]) => type.split(';')[0]!.trim() === mediaType);
    if (!declared) return [`${reply.status} does not declare ${mediaType} (declares ${Object.keys(content).join(', ')})`];
    const schema = declared[1].schema;
    if (!schema) return [`${reply.status} ${mediaType} has no schema`];
    const validate = ajv.compile(dereference(schema, components) as Json);
    if (validate(reply.body)) return [];
    return (validate.errors ?? []).map((error) => `${reply.status} ${error.instancePath || '/'} ${error.message ?? ''}`);
  };
}
