import { z } from 'zod';
import { answerSchemas, requestSchemas, restOperations, type RestOperation } from './rest-operations.ts';

type JsonObject = Record<string, unknown>;

const componentRef = (name: string) => `#/components/schemas/${name}`;

/**
 * JSON Schemas (2020-12, the dialect OpenAPI 3.1 uses) of a set of named zod schemas, each as a component. Requests
 * are described as clients send them (`io: 'input'`: defaults make a field optional), answers as the hub sends them.
 */
function components(schemas: Record<string, z.ZodType>, io: 'input' | 'output'): Record<string, JsonObject> {
  const registry = z.registry<{ id: string }>();
  for (const [id, schema] of Object.entries(schemas)) registry.add(schema, { id });
  const { schemas: out } = z.toJSONSchema(registry, { target: 'draft-2020-12', io, unrepresentable: 'any', uri: componentRef }) as { schemas: Record<string, JsonObject> };
  for (const schema of Object.values(out)) {
    // The document names the dialect once (`jsonSchemaDialect`); an `$id` would make each component its own base URI.
    delete schema.$schema;
    delete schema.$id;
  }
  return out;
}

/** The query parameters of an operation, one per field of its query schema. */
function queryParameters(query: z.ZodObject): JsonObject[] {
  const schema = z.toJSONSchema(query, { target: 'draft-2020-12', io: 'input', unrepresentable: 'any' }) as { properties?: Record<string, JsonObject>; required?: string[] };
  return Object.entries(schema.properties ?? {}).map(([name, property]) => ({
    name,
    in: 'query',
    required: schema.required?.includes(name) ?? false,
    schema: property,
    ...(typeof property.description === 'string' ? { description: property.description } : {}),
  }));
}

function pathParameters(path: string): JsonObject[] {
  return [...path.matchAll(/\{([^}]+)\}/g)].map(([, name]) => ({ name, in: 'path', required: true, schema: { type: 'string' } }));
}

function operationObject(op: RestOperation): JsonObject {
  const error = { description: 'error: `{"error","message"}`', content: { 'application/json': { schema: { $ref: componentRef('Error') } } } };
  const success = op.answer.schema
    ? { description: op.answer.description ?? 'success', content: { 'application/json': { schema: { $ref: componentRef(op.answer.schema) } } } }
    : op.answer.media
      ? { description: op.answer.description ?? 'success', content: { [op.answer.media]: { schema: { type: 'string' } } } }
      : { description: op.answer.description ?? 'success' };
  const who = op.roles === 'public' ? 'no token needed' : typeof op.roles === 'string' ? op.roles : op.roles.join(', ');
  const body = op.body && {
    required: true,
    content: {
      'application/json': { schema: { $ref: componentRef(op.body.schema) } },
      ...(op.body.csv ? { 'text/csv': { schema: { type: 'string' } } } : {}),
    },
  };
  return {
    operationId: op.id ?? operationId(op),
    summary: op.summary,
    description: `Who: ${who}.`,
    tags: [op.tag],
    ...(op.roles === 'public' ? { security: [] } : {}),
    parameters: [...pathParameters(op.path), ...(op.query ? queryParameters(op.query) : [])],
    ...(body ? { requestBody: body } : {}),
    responses: { [String(op.answer.status)]: success, '4XX': error, '5XX': error },
  };
}

/** `get /api/v1/events/{e}/tickets/issue` → `getEventsTicketsIssue`: stable, unique, readable in generated SDKs. */
export function operationId(op: Pick<RestOperation, 'method' | 'path'>): string {
  const words = op.path
    .replace(/^\/api\/v1/, '')
    .split('/')
    .filter((s) => s && !s.startsWith('{'))
    .flatMap((s) => s.split(/[^A-Za-z0-9]+/))
    .filter(Boolean);
  return op.method + words.map((w) => w[0]!.toUpperCase() + w.slice(1)).join('');
}

/**
 * The hub's REST API as an OpenAPI 3.1 document, generated from the zod schemas the hub validates with.
 * @example const doc = openApiDocument(); doc.paths['/api/v1/events'].post.requestBody
 */
export function openApiDocument(options: { version?: string } = {}): JsonObject & { paths: Record<string, Record<string, JsonObject>> } {
  const paths: Record<string, Record<string, JsonObject>> = {};
  for (const op of restOperations) (paths[op.path] ??= {})[op.method] = operationObject(op);
  return {
    openapi: '3.1.0',
    jsonSchemaDialect: 'https://json-schema.org/draft/2020-12/schema',
    info: {
      title: 'opshub REST API',
      version: options.version ?? '1',
      description:
        'Event-day operations hub. JSON in and out; errors are `{"error":CODE,"message":TEXT}`. A path no route serves is 404, a known path with another method 405 with `Allow`, a body of the wrong content type 415. The real-time side (`WS /ws`, `WS /yjs/{doc}`) is described in docs/protocol.md.',
    },
    servers: [{ url: '/' }],
    security: [{ bearer: [] }, { tokenQuery: [] }],
    tags: [...new Set(restOperations.map((o) => o.tag))].map((name) => ({ name })),
    paths,
    components: {
      securitySchemes: {
        bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' },
        tokenQuery: { type: 'apiKey', in: 'query', name: 'token' },
      },
      schemas: { ...components(requestSchemas, 'input'), ...components(answerSchemas, 'output') },
    },
  };
}

/** The document as `docs/openapi.json` holds it (two-space indent, final newline). */
export function openApiJson(): string {
  return `${JSON.stringify(openApiDocument(), null, 2)}\n`;
}
