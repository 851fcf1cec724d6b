import * as fs from 'node:fs';
import * as path from 'node:path';
import { isMap, isScalar, isSeq, LineCounter, parseDocument, type Node } from 'yaml';
import { z } from 'zod';
import type { Access } from '../activities/db/connection';
import { parseAddress } from '../workflows/logic/address';

/** A cluster as the operator writes it (`gtidflow cluster apply -f`): references to secrets, never secrets. */
const credentialsRef = z.object({
  user: z.string().min(1),
  passwordFile: z.string().min(1).optional(),
  passwordEnv: z.string().min(1).optional(),
}).strict().refine((r) => Boolean(r.passwordFile) !== Boolean(r.passwordEnv), {
  message: 'give exactly one of passwordFile or passwordEnv (the password itself never goes in a spec)',
});

/** A PEM file by its path: the certificate or key itself never goes in a spec. */
const pemFile = z.string().min(1)
  .refine((file) => !file.includes('-----BEGIN') && !file.includes('\n'), { message: 'must be the path of a PEM file, not its contents (certificates and keys never go in a spec)', abort: true })
  .refine((file) => path.isAbsolute(file), { message: 'must be an absolute path' });

const tlsFileFields = { caFile: pemFile, certFile: pemFile.optional(), keyFile: pemFile.optional() };
const certWithKey = [(t: { certFile?: string; keyFile?: string }) => Boolean(t.certFile) === Boolean(t.keyFile),
  { message: 'give certFile and keyFile together, or neither' }] as const;

/** Files the worker reads; `replication`'s are paths on the database hosts, which may differ. */
const tls = z.object({
  ...tlsFileFields,
  replication: z.object(tlsFileFields).strict().refine(...certWithKey).optional(),
}).strict().refine(...certWithKey);

const address = z.string().refine((a) => {
  try { parseAddress(a); return true; } catch { return false; }
}, { message: 'must be host:port' });

const server = z.object({
  address,
  status: z.enum(['PRIMARY', 'SECONDARY', 'SPARE', 'FAULTY']).default('SECONDARY'),
  penalty: z.number().int().min(0).default(0),
}).strict();

export const clusterSpecSchema = z.object({
  name: z.string().regex(/^[a-z0-9][a-z0-9_-]{0,62}$/, 'must be lower-case letters, digits, - and _ (at most 63, starting with a letter or digit)'),
  servers: z.array(server).min(1),
  credentials: z.object({ admin: credentialsRef, replication: credentialsRef }).strict(),
  tls: tls.optional(),
  /** Every server has a host agent (README: Host agents): clones are physical. */
  agents: z.boolean().optional(),
  hooks: z.object({
    beforeFailover: z.array(z.string().min(1)).default([]),
    afterFailover: z.array(z.string().min(1)).default([]),
    afterSwitchover: z.array(z.string().min(1)).default([]),
  }).strict().optional(),
  policies: z.object({
    failover: z.enum(['auto', 'notify', 'off']).optional(),
    probeIntervalMs: z.number().int().min(100).max(60_000).optional(),
    probeFailures: z.number().int().min(1).max(100).optional(),
    blockSeconds: z.number().int().min(0).optional(),
    healthIntervalSeconds: z.number().int().min(5).optional(),
    rejoin: z.enum(['auto', 'auto-reprovision', 'notify']).optional(),
    semiSync: z.union([
      z.literal('off'),
      z.object({ waitPoint: z.enum(['AFTER_SYNC', 'AFTER_COMMIT']).default('AFTER_SYNC'), timeoutMs: z.number().int().min(0).default(10_000) }).strict(),
    ]).optional(),
  }).strict().optional(),
  router: z.object({
    haproxy: z.object({
      adminSocket: z.string().min(1),
      writerBackend: z.string().default('writer'),
      readerBackend: z.string().default('reader'),
    }).strict(),
  }).strict().optional(),
}).strict().superRefine((spec, ctx) => {
  const primaries = spec.servers.filter((s) => s.status === 'PRIMARY').length;
  if (primaries !== 1) ctx.addIssue({ code: 'custom', path: ['servers'], message: `exactly one server must be PRIMARY (found ${primaries})` });
  const seen = new Map<string, number>();
  spec.servers.forEach((s, i) => {
    const first = seen.get(s.address);
    if (first !== undefined) ctx.addIssue({ code: 'custom', path: ['servers', i, 'address'], message: `${s.address} is listed twice (also servers[${first}])` });
    else seen.set(s.address, i);
  });
});

export type ClusterSpec = z.infer<typeof clusterSpecSchema>;

/** How workers reach the cluster's servers: the spec's credentials and TLS, references only. */
export function specAccess(spec: ClusterSpec): Access {
  return spec.tls ? { ...spec.credentials, tls: spec.tls } : spec.credentials;
}

type Path = readonly PropertyKey[];
type Issue = z.core.$ZodIssue;

/** `servers[1].status`: how an operator finds a field in the file. */
export function formatPath(path: Path): string {
  return path.reduce<string>((out, key) => (typeof key === 'number' ? `${out}[${key}]` : out ? `${out}.${String(key)}` : String(key)), '');
}

/** The value found at a path of the parsed spec (undefined when absent). */
function valueAt(raw: unknown, path: Path): unknown {
  let value = raw;
  for (const key of path) value = value !== null && typeof value === 'object' ? (value as Record<PropertyKey, unknown>)[key] : undefined;
  return value;
}

/** The schema that validates the value at a path: for the fields an object allows. */
function schemaAt(path: Path): z.ZodType | undefined {
  let schema: z.ZodType | undefined = clusterSpecSchema;
  for (const key of [...path, null]) {
    // Unwrap what only wraps the value: optional, default.
    while (schema instanceof z.ZodOptional || schema instanceof z.ZodDefault) schema = schema.unwrap() as z.ZodType;
    if (key === null || !schema) break;
    if (schema instanceof z.ZodObject) schema = (schema.shape as Record<string, z.ZodType>)[String(key)];
    else if (schema instanceof z.ZodArray) schema = schema.element as z.ZodType;
    else if (schema instanceof z.ZodUnion) schema = (schema.options as z.ZodType[]).find((o) => o instanceof z.ZodObject);
    else return undefined;
  }
  return schema;
}

function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  if (typeof value === 'string') return `"${value.length > 40 ? `${value.slice(0, 40)}…` : value}"`;
  return String(value);
}

const KINDS: Record<string, string> = { object: 'a mapping', array: 'a list', string: 'a string', number: 'a number', int: 'a whole number', boolean: 'true or false' };

const orList = (values: readonly unknown[]) => {
  const shown = values.map((v) => String(v));
  return shown.length <= 1 ? shown.join('') : `${shown.slice(0, -1).join(', ')} or ${shown[shown.length - 1]}`;
};

interface Problem { path: Path; message: string }

/** Each zod issue as the operator reads it: the field's path and what it must be, without zod's wording. */
function problemsOf(issue: Issue, raw: unknown, prefix: Path = []): Problem[] {
  const path = [...prefix, ...issue.path];
  const value = valueAt(raw, path);
  switch (issue.code) {
    case 'invalid_value':
      return [{ path, message: `must be ${orList(issue.values)}${value === undefined ? '' : `, not ${describeValue(value)}`}` }];
    case 'invalid_type': {
      if (value === undefined) return [{ path, message: 'missing' }];
      if (path.length === 0) return [{ path, message: 'the spec must be a mapping with name, servers and credentials' }];
      const kind = KINDS[issue.expected] ?? issue.expected;
      return [{ path, message: `must be ${kind}, not ${describeValue(value)}` }];
    }
    case 'too_small':
    case 'too_big': {
      const [bound, op] = issue.code === 'too_small' ? [issue.minimum, issue.inclusive ? '≥' : '>'] : [issue.maximum, issue.inclusive ? '≤' : '<'];
      if (issue.origin === 'array') return [{ path, message: `${issue.code === 'too_small' ? 'needs at least' : 'takes at most'} ${bound} ${Number(bound) === 1 ? 'entry' : 'entries'}` }];
      if (issue.origin === 'string') return [{ path, message: issue.code === 'too_small' && Number(bound) === 1 ? 'must not be empty' : `must be ${op} ${bound} characters` }];
      return [{ path, message: `must be ${op} ${bound}, not ${describeValue(value)}` }];
    }
    case 'unrecognized_keys': {
      const schema = schemaAt(path);
      const fields = schema instanceof z.ZodObject ? Object.keys(schema.shape) : [];
      return issue.keys.map((key) => ({ path: [...path, key], message: `unknown field${fields.length ? `: expected ${orList(fields)}` : ''}` }));
    }
    case 'invalid_union': {
      // The branch whose shape matched (its problems lie deeper) says what is wrong; else name the choices.
      const deeper = issue.errors.find((branch) => branch.some((i) => i.path.length > 0));
      if (deeper) return deeper.flatMap((i) => problemsOf(i, raw, path));
      const choices = issue.errors.flatMap((branch) => branch.map((i) => (i.code === 'invalid_value' ? orList(i.values) : i.code === 'invalid_type' ? KINDS[i.expected] ?? i.expected : '')));
      return [{ path, message: `must be ${orList(choices.filter(Boolean))}, not ${describeValue(value)}` }];
    }
    default:
      return [{ path, message: issue.message }];
  }
}

/**
 * The line a field is on: the key's line for a mapping's field (the item's
 * for a list's), the nearest enclosing one present when the field is missing.
 */
function lineOf(doc: ReturnType<typeof parseDocument>, lines: LineCounter, path: Path): number {
  const lineAt = (node: { range?: [number, number, number] | null } | null | undefined) => (node?.range ? lines.linePos(node.range[0]).line : undefined);
  let node: unknown = doc.contents;
  let line = lineAt(doc.contents as Node | null) ?? 1;
  for (const key of path) {
    if (isMap(node)) {
      const pair = node.items.find((p) => (isScalar(p.key) ? String(p.key.value) : String(p.key)) === String(key));
      if (!pair) break;
      line = lineAt(pair.key as Node) ?? line;
      node = pair.value;
    } else if (isSeq(node) && typeof key === 'number' && node.items[key]) {
      node = node.items[key];
      line = lineAt(node as Node) ?? line;
    } else {
      break;
    }
  }
  return line;
}

/**
 * Parses and validates. The error is one line naming every problem by its
 * line in the file and its field: `spec.yaml line 7: servers[1].status: must
 * be PRIMARY, SECONDARY, SPARE or FAULTY, not "MASTER"`.
 */
export function parseClusterSpec(text: string, source: string): ClusterSpec {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, uniqueKeys: true });
  if (doc.errors.length) {
    const err = doc.errors[0];
    const line = err.linePos?.[0].line ?? lines.linePos(err.pos[0]).line;
    const what = err.message.split('\n')[0].replace(/ at line \d+, column \d+:?$/, '');
    throw new Error(`${source} line ${line}: not valid YAML: ${what}`);
  }
  const raw: unknown = doc.toJS();
  const result = clusterSpecSchema.safeParse(raw);
  if (!result.success) {
    const problems = result.error.issues.flatMap((issue) => problemsOf(issue, raw))
      .map((p) => ({ ...p, line: lineOf(doc, lines, p.path) }))
      .sort((a, b) => a.line - b.line);
    const text = problems.map((p, i) => `${i ? 'line' : `${source} line`} ${p.line}: ${p.path.length ? `${formatPath(p.path)}: ` : ''}${p.message}`);
    throw new Error(text.join('; '));
  }
  return result.data;
}

export function readClusterSpec(file: string): ClusterSpec {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new Error(`cannot read ${file}: ${code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'a directory, not a file' : code}`);
  }
  return parseClusterSpec(text, file);
}
