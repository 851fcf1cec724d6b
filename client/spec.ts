import * as fs from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { parseAddress } from '../workflows/logic/address';

/** A cluster as the operator writes it (`gtidflow cluster apply -f`): references to secrets, never secrets. */
const credentialsRef = z.object({
  user: z.string().min(1),
  passwordFile: z.string().min(1).optional(),
  passwordEnv: z.string().min(1).optional(),
}).strict().refine((r) => Boolean(r.passwordFile) !== Boolean(r.passwordEnv), {
  message: 'give exactly one of passwordFile or passwordEnv (the password itself never goes in a spec)',
});

const address = z.string().refine((a) => {
  try { parseAddress(a); return true; } catch { return false; }
}, { message: 'expected host:port' });

const server = z.object({
  address,
  status: z.enum(['PRIMARY', 'SECONDARY', 'SPARE', 'FAULTY']).default('SECONDARY'),
  penalty: z.number().int().min(0).default(0),
}).strict();

export const clusterSpecSchema = z.object({
  name: z.string().regex(/^[a-z0-9][a-z0-9_-]{0,62}$/, 'lower-case letters, digits, - and _'),
  servers: z.array(server).min(1),
  credentials: z.object({ admin: credentialsRef, replication: credentialsRef }).strict(),
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
    rejoin: z.enum(['auto', 'notify']).optional(),
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
  const seen = new Set<string>();
  for (const s of spec.servers) {
    if (seen.has(s.address)) ctx.addIssue({ code: 'custom', path: ['servers'], message: `${s.address} is listed twice` });
    seen.add(s.address);
  }
});

export type ClusterSpec = z.infer<typeof clusterSpecSchema>;

/** Parses and validates; the error names every problem on one line. */
export function parseClusterSpec(text: string, source: string): ClusterSpec {
  let raw: unknown;
  try {
    raw = parseYaml(text);
  } catch (err) {
    throw new Error(`${source}: not valid YAML: ${(err as Error).message.split('\n')[0]}`);
  }
  const result = clusterSpecSchema.safeParse(raw);
  if (!result.success) {
    const problems = result.error.issues.map((i) => `${i.path.join('.') || '(top)'}: ${i.message}`);
    throw new Error(`${source}: invalid cluster spec: ${problems.join('; ')}`);
  }
  return result.data;
}

export function readClusterSpec(file: string): ClusterSpec {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new Error(`cannot read ${file}: ${(err as NodeJS.ErrnoException).code}`);
  }
  return parseClusterSpec(text, file);
}
