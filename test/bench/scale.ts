import * as fs from 'node:fs';
import * as os from 'node:os';
import type { Client } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { applyCluster } from '../../client/cluster-apply';
import { sleep } from '../../client/local/ports';
import { readMemo } from '../../client/memo';
import type { ClusterSpec } from '../../client/spec';
import { clusterWorkflowId, healthScheduleId, TASK_QUEUE } from '../../workflows/api';
import { runCleanups } from '../harness/cleanup';
import { startTestCluster, type TestCluster } from '../harness/cluster';
import { startTestTemporal, type TestTemporal } from '../harness/temporal';

/**
 * npm run bench:scale — what supervising many clusters costs (issue #13):
 * SCALE_CLUSTERS (20) clusters of 3 MariaDB servers on one Temporal dev
 * server and ONE worker process, 1 s probes, health rounds every 60 s (the
 * default). Three phases on the same server and worker:
 *   0. no cluster registered (the worker's and the server's floor);
 *   1. one cluster, measured for SCALE_BASE_MINUTES (min(2, SCALE_MINUTES)),
 *      then its primary killed -9: the single-cluster detection time;
 *   2. SCALE_CLUSTERS clusters, measured for SCALE_MINUTES (10), then one
 *      primary killed -9 (SCALE_KILLS of them, one after another).
 * SCALE_POLICIES adds policies to every cluster's spec (JSON), to take the
 * cost apart: '{"healthIntervalSeconds":3600}' leaves the watch alone,
 * '{"failover":"off"}' the health rounds alone (no watch, nothing killed).
 * Measured from /proc every 10 s: the worker's and the Temporal server's CPU
 * (% of one core) and RSS, the mariadbd servers' CPU; from the histories:
 * events and executions per cluster-hour, by workflow type. Detection is
 * read from the conductor's history: kill → the watch's verdict (its
 * activity completed) → the failover child started → the failover ended.
 * The per-cluster figures at the end are what a sizing is made from.
 */
const CLUSTERS = Number(process.env.SCALE_CLUSTERS ?? 20);
const MINUTES = Number(process.env.SCALE_MINUTES ?? 10);
const BASE_MINUTES = Number(process.env.SCALE_BASE_MINUTES ?? Math.min(2, MINUTES));
const IDLE_SECONDS = Number(process.env.SCALE_IDLE_SECONDS ?? 60);
/** More policies for every cluster, as JSON: to take the cost apart ('{"healthIntervalSeconds":3600}': the watch alone; '{"failover":"off"}': no watch, no kill). */
const POLICIES = JSON.parse(process.env.SCALE_POLICIES ?? '{}') as NonNullable<ClusterSpec['policies']>;
const KILLS = POLICIES.failover === 'off' ? 0 : Number(process.env.SCALE_KILLS ?? 1);
const SAMPLE_MS = 10_000;
const TICKS = 100; // getconf CLK_TCK: 100 on Linux
/** A small mariadbd (client/local/mariadb.ts serverOptions: 16 MB buffer pool) takes about this much. */
const SERVER_MB = 150;

const EventType = temporal.api.enums.v1.EventType;
type History = Awaited<ReturnType<ReturnType<Client['workflow']['getHandle']>['fetchHistory']>>;
type HistoryEvent = NonNullable<History['events']>[number];

async function main(): Promise<void> {
  const solo = Math.max(1, KILLS);
  const servers = 3 * (CLUSTERS + solo);
  const availableMb = memAvailableMb();
  console.log(`bench:scale: ${CLUSTERS} clusters × 3 servers, ${MINUTES} min measured (${BASE_MINUTES} min with 1 cluster, ${IDLE_SECONDS} s with none), ` +
    `${KILLS} kill(s); ${os.cpus().length} cores, load ${loadavg()}, ${availableMb} MB available for ${servers} mariadbd`);
  if (availableMb < servers * SERVER_MB + 1024) throw new Error(`${servers} mariadbd need about ${servers * SERVER_MB} MB and the machine has ${availableMb} MB available`);

  const temporalServer = await startTestTemporal();
  const { client } = temporalServer;
  const temporalPid = temporalPidOf(temporalServer);
  const worker = temporalServer.workerProcess();
  const workerPid = worker.pid!;

  // Every server first: their start-up is not what is measured.
  const solos = await inBatches(solo, () => startTestCluster(3));
  const clusters = await inBatches(CLUSTERS, () => startTestCluster(3));
  const serverPids = () => [...solos, ...clusters].flatMap((c) => c.servers.map((s) => s.pid));
  console.log(`${servers} mariadbd running, ${(sumRss(serverPids()) / 1024).toFixed(0)} MB RSS in all; ${memAvailableMb()} MB available`);
  await workerReady(temporalServer);
  // The worker's start-up (bundling the workflows) ends in a while of GC.
  await sleep(30_000);

  const idle = await measure('phase 0: no cluster', IDLE_SECONDS * 1000, 0, { workerPid, temporalPid, serverPids });

  // Phase 1: one cluster alone, its load, then its primary killed.
  let baseLoad: Load | undefined;
  let baseEvents: Events | undefined;
  const baseDetections: Detection[] = [];
  for (const [i, cluster] of solos.entries()) {
    const name = `solo-${i + 1}`;
    await register(client, name, cluster);
    await sleep(5_000);
    if (i === 0) {
      const from = Date.now();
      baseLoad = await measure('phase 1: 1 cluster', BASE_MINUTES * 60_000, 1, { workerPid, temporalPid, serverPids });
      baseEvents = await countEvents(client, from, from + baseLoad.ms, (id) => ofCluster(id, name));
      printEvents(baseEvents, 1, baseLoad.ms);
    }
    if (i < KILLS) {
      const detection = await killPrimary(client, name, cluster);
      printDetection(`phase 1 (1 cluster), ${name}`, detection);
      baseDetections.push(detection);
    }
    await unregister(client, name);
  }

  // Phase 2: all of them.
  const names = clusters.map((_, i) => `scale-${String(i + 1).padStart(2, '0')}`);
  const registeredAt = Date.now();
  for (let i = 0; i < CLUSTERS; i += 4) {
    await Promise.all(names.slice(i, i + 4).map((name, j) => register(client, name, clusters[i + j])));
  }
  console.log(`\n${CLUSTERS} clusters registered and bootstrapped in ${((Date.now() - registeredAt) / 1000).toFixed(1)} s`);
  await sleep(10_000);
  const from = Date.now();
  const load = await measure(`phase 2: ${CLUSTERS} clusters`, MINUTES * 60_000, CLUSTERS, { workerPid, temporalPid, serverPids });
  const events = await countEvents(client, from, from + load.ms, (id) => names.some((n) => ofCluster(id, n)));
  printEvents(events, CLUSTERS, load.ms);
  const detections = [];
  for (let k = 0; k < KILLS; k++) {
    const detection = await killPrimary(client, names[k], clusters[k]);
    printDetection(`phase 2 (${CLUSTERS} clusters), ${names[k]}`, detection);
    detections.push(detection);
    await sleep(5_000);
  }

  printSizing(idle, baseLoad!, baseEvents!, load, events, baseDetections, detections);
  await runCleanups();
}

// ---------- clusters ----------

async function inBatches<T>(count: number, start: () => Promise<T>): Promise<T[]> {
  const out: T[] = [];
  for (let i = 0; i < count; i += 4) out.push(...(await Promise.all(Array.from({ length: Math.min(4, count - i) }, start))));
  return out;
}

/** Registers the cluster (no router: the spec allows none), 1 s probes, the default health interval. */
async function register(client: Client, name: string, cluster: TestCluster): Promise<void> {
  const spec: ClusterSpec = {
    name,
    servers: cluster.addresses.map((address, i) => ({ address, status: i === 0 ? 'PRIMARY' : 'SECONDARY', penalty: 0 })),
    credentials: cluster.access as ClusterSpec['credentials'],
    policies: { probeIntervalMs: 1000, ...POLICIES },
  };
  const { viewId } = await applyCluster(client, spec);
  if (viewId !== 1) throw new Error(`${name} bootstrapped at view ${viewId}`);
}

/** The cluster's conductor, or one of its operations or health ticks (their ids start with the conductor's and a slash). */
const ofCluster = (workflowId: string, name: string) => workflowId === clusterWorkflowId(name) || workflowId.startsWith(`${clusterWorkflowId(name)}/`);

async function unregister(client: Client, name: string): Promise<void> {
  await client.schedule.getHandle(healthScheduleId(name)).delete().catch(() => undefined);
  await client.workflow.getHandle(clusterWorkflowId(name)).terminate('bench: phase over').catch(() => undefined);
}

async function workerReady(t: TestTemporal): Promise<void> {
  for (const deadline = Date.now() + 120_000; Date.now() < deadline; await sleep(500)) {
    const { pollers } = await t.client.workflowService.describeTaskQueue({
      namespace: 'default', taskQueue: { name: TASK_QUEUE }, taskQueueType: temporal.api.enums.v1.TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
    });
    if (pollers?.length) return;
  }
  throw new Error('the worker process did not poll within 120 s');
}

// ---------- detection ----------

interface Detection { verdictMs?: number; startedMs: number; endedMs?: number; outcome: string; reason: string }

/** kill -9 of the cluster's primary; when its conductor's history shows the verdict, the failover started and ended. */
async function killPrimary(client: Client, name: string, cluster: TestCluster): Promise<Detection> {
  const before = await readMemo(client, name);
  const killedAt = Date.now();
  process.kill(cluster.servers[0].pid, 'SIGKILL');
  for (const deadline = killedAt + 120_000; ; await sleep(100)) {
    const memo = await readMemo(client, name);
    if (memo?.lastOperation?.kind === 'failover' && !memo.operation && memo.lastOperation.id > (before?.lastOperation?.id ?? 0)) break;
    if (Date.now() > deadline) throw new Error(`${name}: no failover recorded within 120 s of the kill`);
  }
  const history = await client.workflow.getHandle(clusterWorkflowId(name)).fetchHistory();
  const events = (history.events ?? []).filter((e) => eventMs(e) >= killedAt);
  const initiated = events.find((e) => e.startChildWorkflowExecutionInitiatedEventAttributes?.workflowType?.name === 'failover');
  if (!initiated) throw new Error(`${name}: no failover child in the conductor's history`);
  const child = initiated.startChildWorkflowExecutionInitiatedEventAttributes!.workflowId;
  const verdict = events.find((e) => {
    const data = e.activityTaskCompletedEventAttributes?.result?.payloads?.[0]?.data;
    return data && Buffer.from(data).toString('utf8').includes('"primary-dead"');
  });
  const ended = events.find((e) => e.childWorkflowExecutionCompletedEventAttributes?.workflowExecution?.workflowId === child ||
    e.childWorkflowExecutionFailedEventAttributes?.workflowExecution?.workflowId === child);
  const memo = await readMemo(client, name);
  const result = verdict && JSON.parse(Buffer.from(verdict.activityTaskCompletedEventAttributes!.result!.payloads![0].data!).toString('utf8'));
  return {
    verdictMs: verdict && eventMs(verdict) - killedAt,
    startedMs: eventMs(initiated) - killedAt,
    endedMs: ended && eventMs(ended) - killedAt,
    outcome: `${memo?.lastOperation?.outcome}, view ${memo?.viewId}, primary ${memo?.primary}`,
    reason: String(result?.reason ?? ''),
  };
}

function printDetection(what: string, d: Detection): void {
  console.log(`\ndetection, ${what}: kill -9 → watch's verdict ${ms(d.verdictMs)}, → failover started ${ms(d.startedMs)}, → failover ended ${ms(d.endedMs)} (${d.outcome})`);
  if (d.reason) console.log(`  verdict: ${d.reason}`);
}

// ---------- /proc ----------

interface Load {
  ms: number;
  worker: Usage;
  temporal: Usage;
  servers: Usage;
}
interface Usage { cpuMean: number; cpuMax: number; rssMeanMb: number; rssMaxMb: number }

/** Samples /proc every 10 s for `durationMs`: CPU % of one core (mean over the window, max over a 10 s sample) and RSS. */
async function measure(what: string, durationMs: number, clusters: number,
  pids: { workerPid: number; temporalPid: number; serverPids: () => number[] }): Promise<Load> {
  console.log(`\n${what}: measuring for ${(durationMs / 1000).toFixed(0)} s (load ${loadavg()})`);
  const targets = { worker: () => [pids.workerPid], temporal: () => [pids.temporalPid], servers: pids.serverPids };
  type Sample = { at: number; load: number; ticks: Record<keyof typeof targets, number>; rss: Record<keyof typeof targets, number> };
  const sample = (): Sample => {
    const at = performance.now();
    const ticks = { worker: 0, temporal: 0, servers: 0 };
    const rss = { worker: 0, temporal: 0, servers: 0 };
    for (const key of Object.keys(targets) as (keyof typeof targets)[]) {
      ticks[key] = sumTicks(targets[key]());
      rss[key] = sumRss(targets[key]());
    }
    return { at, load: os.loadavg()[0], ticks, rss };
  };
  const threadsBefore = threadTicks(pids.workerPid);
  const samples = [sample()];
  const end = samples[0].at + durationMs;
  while (performance.now() < end - 1) {
    await sleep(Math.min(SAMPLE_MS, end - performance.now()));
    samples.push(sample());
  }
  const first = samples[0];
  const last = samples[samples.length - 1];
  const usage = (key: keyof typeof targets): Usage => {
    const pct = (a: Sample, b: Sample) => (100 * (b.ticks[key] - a.ticks[key]) / TICKS) / ((b.at - a.at) / 1000);
    const rss = samples.slice(1).map((s) => s.rss[key] / 1024);
    return {
      cpuMean: pct(first, last),
      cpuMax: Math.max(...samples.slice(1).map((s, i) => pct(samples[i], s))),
      rssMeanMb: rss.reduce((a, b) => a + b, 0) / rss.length,
      rssMaxMb: Math.max(...rss),
    };
  };
  const load = { ms: last.at - first.at, worker: usage('worker'), temporal: usage('temporal'), servers: usage('servers') };
  const line = (name: string, u: Usage) => console.log(`  ${name.padEnd(26)} CPU mean ${pct(u.cpuMean)} max ${pct(u.cpuMax)} of one core` +
    `${clusters ? ` (${pct(u.cpuMean / clusters)} per cluster)` : ''}; RSS mean ${mb(u.rssMeanMb)} max ${mb(u.rssMaxMb)}`);
  line(`worker (pid ${pids.workerPid})`, load.worker);
  console.log(`    its threads: ${threadShares(pids.workerPid, threadsBefore, load.ms)}`);
  line(`Temporal dev server (pid ${pids.temporalPid})`, load.temporal);
  line(`all mariadbd (${pids.serverPids().length})`, load.servers);
  // Every cluster's health round is due at the same second (interval schedules align to the epoch): the peaks show it.
  const series = (key: keyof typeof targets) => samples.slice(1).map((x, i) => ((100 * (x.ticks[key] - samples[i].ticks[key]) / TICKS) / ((x.at - samples[i].at) / 1000)).toFixed(0)).join(' ');
  console.log(`  CPU % per 10 s: worker ${series('worker')}; Temporal ${series('temporal')}`);
  // Other work on the machine does not add to these processes' CPU time, but it delays them (detection, task timeouts).
  const loads = samples.map((x) => x.load);
  console.log(`  machine load (1 min) over the window: min ${Math.min(...loads).toFixed(2)} mean ${(loads.reduce((a, b) => a + b, 0) / loads.length).toFixed(2)} max ${Math.max(...loads).toFixed(2)}`);
  return load;
}

/** utime + stime of each pid's threads, in clock ticks (a pid that is gone counts 0). */
function sumTicks(pids: number[]): number {
  let total = 0;
  for (const pid of pids) {
    try {
      const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
      // The command may hold spaces: the fields start after its closing parenthesis (field 3 is state).
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      total += Number(fields[11]) + Number(fields[12]);
    } catch {
      // gone
    }
  }
  return total;
}

/** utime + stime of each thread of the process, by thread id. */
function threadTicks(pid: number): Map<number, { name: string; ticks: number }> {
  const out = new Map<number, { name: string; ticks: number }>();
  for (const tid of fs.readdirSync(`/proc/${pid}/task`)) {
    try {
      const stat = fs.readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      out.set(Number(tid), { name: stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')), ticks: Number(fields[11]) + Number(fields[12]) });
    } catch {
      // gone
    }
  }
  return out;
}

/**
 * Where the worker's CPU went, by thread: the main thread runs the
 * activities (the watch's probes); the SDK's core is the tokio-runtime
 * threads; of the other node threads, the workflow thread
 * (workflowThreadPoolSize 1) is the busiest after the main one, the rest
 * are V8's (GC, compiler) and libuv's.
 */
function threadShares(pid: number, before: Map<number, { ticks: number }>, windowMs: number): string {
  const groups = new Map<string, number>();
  const others: { tid: number; ticks: number }[] = [];
  for (const [tid, t] of threadTicks(pid)) {
    const ticks = t.ticks - (before.get(tid)?.ticks ?? 0);
    const group = tid === pid ? 'main' : t.name === 'node' ? 'other node' : t.name;
    groups.set(group, (groups.get(group) ?? 0) + ticks);
    if (group === 'other node') others.push({ tid, ticks });
  }
  const share = (ticks: number) => pct((100 * ticks / TICKS) / (windowMs / 1000));
  const busiest = others.sort((a, b) => b.ticks - a.ticks).slice(0, 3).map((o) => share(o.ticks)).join(', ');
  return [...groups].sort((a, b) => b[1] - a[1]).map(([g, ticks]) => `${g} ${share(ticks)}`).join(', ') + ` (busiest other node threads: ${busiest})`;
}

/** VmRSS of each pid, in kB. */
function sumRss(pids: number[]): number {
  let total = 0;
  for (const pid of pids) {
    try {
      total += Number(/VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
    } catch {
      // gone
    }
  }
  return total;
}

/** The harness knows the dev server's pid but does not hand it out: it is the process listening on its port (`--port <port>` in its command line). */
function temporalPidOf(t: TestTemporal): number {
  const port = t.address.split(':').pop()!;
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const args = fs.readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
      const at = args.indexOf('--port');
      if (args.includes('start-dev') && at >= 0 && args[at + 1] === port) return Number(entry);
    } catch {
      // gone
    }
  }
  throw new Error(`no Temporal dev server on port ${port} in /proc`);
}

function memAvailableMb(): number {
  return Math.floor(Number(/MemAvailable:\s+(\d+)/.exec(fs.readFileSync('/proc/meminfo', 'utf8'))?.[1] ?? 0) / 1024);
}

const loadavg = () => os.loadavg().map((l) => l.toFixed(2)).join(' ');

// ---------- histories ----------

interface Count { executions: number; events: number }
interface Events { byType: Map<string, Count>; byEvent: Map<string, number>; conductorByEvent: Map<string, number> }

/**
 * History events written in [from, to) by the clusters' workflows (conductor
 * runs, operations, health ticks: every execution open in the window), and
 * the executions started in it; the schedules' own workflows too, when the
 * server lets them be read.
 */
async function countEvents(client: Client, from: number, to: number, ours: (workflowId: string) => boolean): Promise<Events> {
  const iso = (t: number) => new Date(t).toISOString();
  const query = `StartTime < "${iso(to)}" AND (ExecutionStatus = "Running" OR CloseTime >= "${iso(from)}")`;
  const out: Events = { byType: new Map(), byEvent: new Map(), conductorByEvent: new Map() };
  const add = (type: string, history: History, started: boolean) => {
    const count = out.byType.get(type) ?? { executions: 0, events: 0 };
    if (started) count.executions++;
    for (const e of history.events ?? []) {
      const at = eventMs(e);
      if (at < from || at >= to) continue;
      count.events++;
      let name = EventType[e.eventType ?? 0]?.replace('EVENT_TYPE_', '') ?? String(e.eventType);
      // A workflow task not taken in time: a sticky one after stickyQueueScheduleToStartTimeout (1 s) is replayed in full elsewhere.
      const timeout = e.workflowTaskTimedOutEventAttributes?.timeoutType;
      if (timeout) name += `(${temporal.api.enums.v1.TimeoutType[timeout]?.replace('TIMEOUT_TYPE_', '')})`;
      out.byEvent.set(name, (out.byEvent.get(name) ?? 0) + 1);
      if (type === 'cluster') out.conductorByEvent.set(name, (out.conductorByEvent.get(name) ?? 0) + 1);
    }
    out.byType.set(type, count);
  };
  const schedules = new Set<string>();
  for await (const wf of client.workflow.list({ query })) {
    if (!ours(wf.workflowId)) continue;
    const history = await client.workflow.getHandle(wf.workflowId, wf.runId).fetchHistory();
    const started = wf.startTime.getTime() >= from && wf.startTime.getTime() < to;
    add(wf.type, history, started);
    if (wf.type === 'cluster') schedules.add(healthScheduleId(wf.workflowId.slice(clusterWorkflowId('').length)));
  }
  // A Schedule runs as a system workflow of the server (temporal-sys-scheduler:<id>): its events are the server's cost too.
  for (const id of schedules) {
    try {
      add('(schedule)', await client.workflow.getHandle(`temporal-sys-scheduler:${id}`).fetchHistory(), false);
    } catch {
      // not readable on this server
    }
  }
  return out;
}

function printEvents(events: Events, clusters: number, windowMs: number): void {
  const hours = windowMs / 3_600_000;
  const per = (n: number) => (n / clusters / hours).toFixed(0);
  let events_ = 0;
  let executions = 0;
  console.log(`  history, ${clusters} cluster(s), ${(windowMs / 60_000).toFixed(1)} min: per cluster-hour`);
  for (const [type, c] of [...events.byType].sort((a, b) => b[1].events - a[1].events)) {
    console.log(`    ${type.padEnd(12)} ${per(c.events).padStart(6)} events, ${per(c.executions).padStart(5)} executions started`);
    if (type !== '(schedule)') {
      events_ += c.events;
      executions += c.executions;
    }
  }
  console.log(`    ${'all (ours)'.padEnd(12)} ${per(events_).padStart(6)} events, ${per(executions).padStart(5)} executions started`);
  const top = (m: Map<string, number>) => [...m].sort((a, b) => b[1] - a[1]).map(([k, n]) => `${k} ${per(n)}`).join(', ');
  console.log(`    by event type: ${top(events.byEvent)}`);
  console.log(`    the conductor's: ${top(events.conductorByEvent)}`);
}

const eventMs = (e: HistoryEvent) => Number(e.eventTime?.seconds ?? 0) * 1000 + (e.eventTime?.nanos ?? 0) / 1e6;

function totals(events: Events): { events: number; executions: number; schedule: number } {
  let n = 0;
  let x = 0;
  for (const [type, c] of events.byType) if (type !== '(schedule)') { n += c.events; x += c.executions; }
  return { events: n, executions: x, schedule: events.byType.get('(schedule)')?.events ?? 0 };
}

// ---------- summary ----------

function printSizing(idle: Load, one: Load, oneEvents: Events, many: Load, manyEvents: Events, base: Detection[], scaled: Detection[]): void {
  const n = CLUSTERS;
  const slope = (f: (l: Load) => number) => (f(many) - f(idle)) / n;
  const w = { cpu: slope((l) => l.worker.cpuMean), rss: slope((l) => l.worker.rssMeanMb) };
  const t = { cpu: slope((l) => l.temporal.cpuMean), rss: slope((l) => l.temporal.rssMeanMb) };
  const s = slope((l) => l.servers.cpuMean);
  const hours = many.ms / 3_600_000;
  const tot = totals(manyEvents);
  const perHour = { events: tot.events / n / hours, executions: tot.executions / n / hours, schedule: tot.schedule / n / hours };
  const oneTot = totals(oneEvents);
  console.log(`\n===== summary: ${n} clusters on one worker, ${(many.ms / 60_000).toFixed(1)} min =====`);
  console.log(`worker CPU: ${pct(idle.worker.cpuMean)} with no cluster, ${pct(one.worker.cpuMean)} with 1, ${pct(many.worker.cpuMean)} with ${n} ` +
    `(max 10 s sample ${pct(many.worker.cpuMax)}; target < 10%: ${many.worker.cpuMean < 10 ? 'met' : 'NOT met'})`);
  console.log(`worker RSS: ${mb(idle.worker.rssMeanMb)} with no cluster, ${mb(one.worker.rssMeanMb)} with 1, ${mb(many.worker.rssMeanMb)} with ${n} (max ${mb(many.worker.rssMaxMb)})`);
  console.log(`Temporal dev server CPU: ${pct(idle.temporal.cpuMean)} / ${pct(one.temporal.cpuMean)} / ${pct(many.temporal.cpuMean)} (max ${pct(many.temporal.cpuMax)}); ` +
    `RSS ${mb(idle.temporal.rssMeanMb)} / ${mb(one.temporal.rssMeanMb)} / ${mb(many.temporal.rssMeanMb)}`);
  console.log(`history: ${(oneTot.events / (one.ms / 3_600_000)).toFixed(0)} events per cluster-hour with 1 cluster, ${perHour.events.toFixed(0)} with ${n}; ` +
    `${perHour.executions.toFixed(0)} executions started per cluster-hour` +
    `${perHour.schedule ? `; the Schedules' own workflows ${perHour.schedule.toFixed(0)} events per cluster-hour more` : ''}`);
  const d = (list: Detection[]) => list.map((x) => `verdict ${ms(x.verdictMs)}, failover started ${ms(x.startedMs)}, ended ${ms(x.endedMs)}`).join('; ');
  console.log(`detection after kill -9: 1 cluster: ${d(base)}; ${n} clusters: ${d(scaled)}`);
  console.log(`\nper cluster (slope from 0 to ${n} clusters): worker ${pct(w.cpu)} of a core and ${mb(w.rss)} RSS; Temporal dev server ${pct(t.cpu)} of a core ` +
    `and ${mb(t.rss)}; its 3 mariadbd ${pct(s)}; ${perHour.events.toFixed(0)} history events and ${perHour.executions.toFixed(0)} executions an hour`);
  const N = 1000;
  console.log(`at ${N} clusters, linearly: worker ${(w.cpu * N / 100).toFixed(1)} cores and ${(w.rss * N / 1024).toFixed(1)} GB RSS ` +
    `(+ ${mb(idle.worker.rssMeanMb)} per worker process); ${(perHour.events * N / 3600).toFixed(0)} history events/s, ` +
    `${(perHour.executions * N / 3600).toFixed(2)} executions started/s (${(perHour.executions * N * 24 / 1e6).toFixed(2)} million a day); ` +
    `Temporal dev server ${(t.cpu * N / 100).toFixed(1)} cores (SQLite: size a real cluster from the events/s)`);
}

const pct = (v: number) => `${v.toFixed(2)}%`;
const mb = (v: number) => `${v.toFixed(0)} MB`;
const ms = (v: number | undefined) => (v === undefined ? '?' : `${v.toFixed(0)} ms`);

main().then(() => process.exit(0), async (err) => {
  console.error(err);
  await runCleanups().catch(() => undefined);
  process.exit(1);
});
