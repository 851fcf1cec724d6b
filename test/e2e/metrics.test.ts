import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { before, test } from 'node:test';
import { freePort, sleep } from '../../client/local/ports';
import type { SandboxProcess } from '../../client/sandbox/status';
import type { ClusterStatus } from '../../client/status';
import { gtidflow } from '../harness/cli';
import { testSandbox } from '../harness/sandbox';

/**
 * The worker's Prometheus endpoint as people read it: every metric README
 * names is served, and every gtidflow metric served is named in README and
 * charted by worker/grafana-dashboard.json.
 */
const ROOT = path.join(__dirname, '..', '..');
const sandbox = testSandbox('metrics');
let metricsUrl: string;

async function cli(...args: string[]): Promise<string> {
  const result = await gtidflow(args, sandbox.env);
  assert.equal(result.code, 0, `gtidflow ${args.join(' ')}: ${result.stderr}`);
  return result.stdout;
}

const status = async () => JSON.parse(await cli('status', 'sandbox', '--json')) as ClusterStatus;

async function until<T>(what: string, timeoutMs: number, check: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(200);
  }
}

/** gtidflow's metric families on /metrics, by their `# TYPE` lines: a histogram once, not as _bucket, _sum and _count. */
async function servedMetrics(): Promise<Map<string, string>> {
  const text = await (await fetch(metricsUrl)).text();
  return new Map([...text.matchAll(/^# TYPE (gtidflow_\w+) (\w+)$/gm)].map(([, name, type]) => [name, type]));
}

/** Those of the names /metrics still lacks after waiting up to timeoutMs for them (a workflow's metrics leave the worker a moment after its task). */
async function notServedWithin(names: string[], timeoutMs: number): Promise<string[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const served = await servedMetrics();
    const missing = names.filter((name) => !served.has(name));
    if (!missing.length || Date.now() > deadline) return missing;
    await sleep(200);
  }
}

/** The metric names README's metrics section lists. */
function readmeMetrics(): Set<string> {
  const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('`GTIDFLOW_METRICS_PORT=')).split(/\n#+ /)[0];
  return new Set([...section.matchAll(/`(gtidflow_\w+)`/g)].map(([, name]) => name));
}

/** The gtidflow metric families the dashboard's queries read (a histogram through its _bucket, _sum or _count). */
function dashboardMetrics(): Set<string> {
  const exprs: string[] = [];
  const walk = (node: unknown): void => {
    if (Array.isArray(node)) node.forEach(walk);
    else if (node && typeof node === 'object') {
      for (const [key, value] of Object.entries(node)) {
        if (key === 'expr' && typeof value === 'string') exprs.push(value);
        else walk(value);
      }
    }
  };
  walk(JSON.parse(fs.readFileSync(path.join(ROOT, 'worker', 'grafana-dashboard.json'), 'utf8')));
  assert.ok(exprs.length > 0, 'the dashboard has queries');
  return new Set(exprs.flatMap((e) => [...e.matchAll(/\bgtidflow_\w+/g)].map(([name]) => name.replace(/_(bucket|sum|count)$/, ''))));
}

before(async () => {
  // sandbox up starts its worker with the environment it runs in.
  sandbox.env.GTIDFLOW_METRICS_PORT = String(await freePort());
  metricsUrl = `http://127.0.0.1:${sandbox.env.GTIDFLOW_METRICS_PORT}/metrics`;
  const [first, second, third] = (await sandbox.up()).clusters[0].servers.map((s) => `${s.host}:${s.port}`);

  // Every kind of operation once, and a primary's death detected by the watch.
  await cli('promote', 'sandbox', '--candidate', second);
  const processes = JSON.parse(await cli('sandbox', 'status', '--json')) as SandboxProcess[];
  process.kill(processes.find((p) => p.address === second)!.pid!, 'SIGKILL');
  await until('the automatic failover', 60_000, async () => {
    const now = await status();
    return now.lastOperation?.kind === 'failover' && !now.operation ? true : undefined;
  });
  await sandbox.up(); // starts the killed server again, then runs a health round
  await cli('rejoin', 'sandbox', second);
  const replica = (await status()).primary === first ? third : first;
  await cli('server', 'set-penalty', 'sandbox', replica, '5');
  await cli('server', 'remove', 'sandbox', replica);
  await cli('server', 'add', 'sandbox', replica, '--provision', 'none');
});

test('every metric README lists is served', async () => {
  const listed = [...readmeMetrics()];
  assert.ok(listed.length > 0, 'README lists metrics');
  assert.deepEqual(await notServedWithin(listed, 15_000), []);
});

test('every gtidflow metric served is listed in README and charted by the dashboard, which reads nothing else', async () => {
  const served = await servedMetrics();
  const listed = readmeMetrics();
  const charted = dashboardMetrics();
  for (const name of served.keys()) {
    assert.ok(listed.has(name), `${name} is served but README does not list it`);
    assert.ok(charted.has(name), `${name} is served but worker/grafana-dashboard.json does not chart it`);
  }
  for (const name of charted) assert.ok(served.has(name), `the dashboard reads ${name}, which is not served`);
});

test('counters are served without a _total suffix, histograms as _bucket, _sum and _count', async () => {
  const text = await (await fetch(metricsUrl)).text();
  assert.match(text, /^gtidflow_failovers\{[^}]*outcome="completed"[^}]*\} 1$/m);
  assert.doesNotMatch(text, /^gtidflow_\w+_total\{/m);
  for (const suffix of ['bucket', 'sum', 'count']) assert.match(text, new RegExp(`^gtidflow_failover_duration_${suffix}\\{`, 'm'));
});
