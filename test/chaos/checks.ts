import { getServerState, probeServer } from '../../activities/server-state';
import { waitForGtid } from '../../activities/wait-for-gtid';
import { sleep } from '../../client/local/ports';
import type { ClusterStatus } from '../../client/status';
import { sourceAddress } from '../../workflows/logic/address';
import { gtidDivergent } from '../../workflows/logic/gtid';
import type { Write } from '../harness/writer';
import type { ChaosSandbox } from './sandbox';

/** Every row below `below` as one number, to see later rounds leave earlier ones alone. */
export interface Checksum {
  below: number;
  count: number;
  xor: string;
}

export interface CheckInput {
  sandbox: ChaosSandbox;
  /** This round's writes, ids in [from, to). */
  writes: Write[];
  from: number;
  to: number;
  /** The recorded primaries of the round in order: the one at its start, then each new view's. */
  primaries: string[];
  previous?: Checksum;
}

export interface CheckResult {
  problems: string[];
  /** Acknowledged rows missing on the primary or on a healthy member. */
  lost: number;
  /** Rows committed by a server that was not the round's primary at that point. */
  splitBrain: number;
  converged: boolean;
  checksum?: Checksum;
}

const CONVERGE_MS = 60_000;
const list = <T>(items: T[], show: (t: T) => string = String) => `${items.slice(0, 8).map(show).join(', ')}${items.length > 8 ? `, … (${items.length} in all)` : ''}`;

/** Every non-FAULTY replica replicates from the primary, both threads running; what is still wrong otherwise. */
async function unconverged(sandbox: ChaosSandbox, status: ClusterStatus): Promise<string[]> {
  const wrong: string[] = [];
  for (const s of status.servers.filter((x) => x.status !== 'FAULTY' && x.address !== status.primary)) {
    const state = await probeServer({ address: s.address, access: sandbox.access });
    const r = state.reachable ? state.replication : null;
    const source = r ? sourceAddress(r) : null;
    if (!state.reachable) wrong.push(`${s.address} does not answer`);
    else if (source !== status.primary || !r?.ioRunning || !r.sqlRunning) {
      wrong.push(`${s.address} replicates from ${source ?? 'nobody'} (io ${r?.ioRunning ? 'yes' : 'no'}, sql ${r?.sqlRunning ? 'yes' : 'no'}${r?.ioError ? `, ${r.ioError}` : ''}${r?.sqlError ? `, ${r.sqlError}` : ''})`);
    }
  }
  return wrong;
}

async function rowsOn(sandbox: ChaosSandbox, address: string, from: number, to: number): Promise<Map<number, number>> {
  const rows = await sandbox.root<{ id: number; server_id: number }>(address, 'SELECT id, server_id FROM app.writes WHERE id >= ? AND id < ?', [from, to]);
  return new Map(rows.map((r) => [Number(r.id), Number(r.server_id)]));
}

async function checksumOn(sandbox: ChaosSandbox, address: string, below: number): Promise<Checksum> {
  const [row] = await sandbox.root<{ c: number; x: string }>(address,
    "SELECT COUNT(*) AS c, CAST(COALESCE(BIT_XOR(CRC32(CONCAT(id, ':', server_id))), 0) AS CHAR) AS x FROM app.writes WHERE id < ?", [below]);
  return { below, count: Number(row.c), xor: String(row.x) };
}

/** The server part of a MariaDB GTID (domain-server-seq). */
const gtidServer = (gtid: string) => Number(gtid.split('-')[1]);

/**
 * What a healed round must leave: converged within 60 s; one writable
 * server, the recorded primary, and the writer endpoint's only target;
 * every acknowledged row on the primary and every healthy member (once
 * caught up); every row committed by a recorded primary of the round, in
 * the order the views made them primary (its GTID naming the same server);
 * no member holding what the primary lacks; earlier rounds' rows unchanged.
 */
export async function checkRound(input: CheckInput): Promise<CheckResult> {
  const { sandbox } = input;
  const problems: string[] = [];
  let status = await sandbox.status();
  const deadline = Date.now() + CONVERGE_MS;
  let wrong = await unconverged(sandbox, status);
  while (wrong.length && Date.now() < deadline) {
    await sleep(1_000);
    status = await sandbox.status();
    wrong = await unconverged(sandbox, status);
  }
  if (wrong.length) problems.push(`not converged 60 s after the heal: ${wrong.join('; ')}`);
  const primary = status.primary;
  const healthy = status.servers.filter((s) => s.status !== 'FAULTY').map((s) => s.address);

  const writable: string[] = [];
  for (const address of sandbox.servers) {
    const [row] = await sandbox.root<{ ro: number }>(address, 'SELECT @@global.read_only AS ro').catch(() => [{ ro: 1 }]);
    if (Number(row.ro) === 0) writable.push(address);
  }
  if (writable.join() !== primary) problems.push(`writable servers: [${writable.join(', ')}], the recorded primary is ${primary}`);
  const targets = new Set<string>();
  for (let i = 0; i < 3; i++) {
    const conn = await sandbox.appConnection().catch((err: Error) => err);
    if (conn instanceof Error) {
      targets.add(`no connection (${conn.message})`);
      continue;
    }
    const [[row]] = (await conn.query('SELECT @@port AS port')) as unknown as [[{ port: number }]];
    await conn.end();
    targets.add(`127.0.0.1:${row.port}`);
  }
  if ([...targets].join() !== primary) problems.push(`the writer endpoint leads to [${[...targets].join(', ')}], the recorded primary is ${primary}`);

  // Members first, then the primary: a replica read before its primary never looks ahead of it.
  const primaryState = await getServerState({ address: primary, access: sandbox.access });
  const rows = new Map<string, Map<number, number>>();
  for (const address of healthy) {
    if (address !== primary) {
      const reached = await waitForGtid({ address, access: sandbox.access, gtid: primaryState.executed, timeoutSeconds: 30 });
      if (!reached.reached) problems.push(`${address} did not apply the primary's ${primaryState.executed} within 30 s (it has ${reached.executed})`);
      const extra = gtidDivergent('mariadb', reached.executed, primaryState.executed);
      if (extra) problems.push(`${address} holds transactions the primary ${primary} lacks: ${extra}`);
    }
    rows.set(address, await rowsOn(sandbox, address, input.from, input.to));
  }

  const acked = input.writes.filter((w) => w.ok);
  const lost = new Set<number>();
  for (const [address, held] of rows) {
    const missing = acked.filter((w) => !held.has(w.id));
    missing.forEach((w) => lost.add(w.id));
    if (missing.length) problems.push(`LOST: ${missing.length} acknowledged rows missing on ${address}: ${list(missing, (w) => `${w.id} (GTID ${w.gtid ?? '?'})`)}`);
    if (address !== primary) {
      const extra = [...held.keys()].filter((id) => !rows.get(primary)!.has(id));
      if (extra.length) problems.push(`${address} holds rows the primary lacks: ${list(extra)}`);
    }
  }

  // Split brain: a row committed by a server that was not a recorded primary of the round, or out of the views' order.
  const idOf = (address: string) => sandbox.serverIds.get(address)!;
  const allowed = new Set(input.primaries.map(idOf));
  const split = new Set<number>();
  const primaryRows = rows.get(primary)!;
  const foreign = [...primaryRows].filter(([, serverId]) => !allowed.has(serverId));
  foreign.forEach(([id]) => split.add(id));
  if (foreign.length) problems.push(`SPLIT BRAIN: rows committed by a server that was not primary (primaries ${list(input.primaries, (a) => `${a} = ${idOf(a)}`)}): ${list(foreign, ([id, s]) => `${id} by server_id ${s}`)}`);
  if (acked.length && !acked.some((w) => w.gtid)) problems.push('the writer captured no GTID from its OK packets: the GTID check saw nothing');
  const badGtid = acked.filter((w) => w.gtid && primaryRows.has(w.id) && gtidServer(w.gtid) !== primaryRows.get(w.id));
  badGtid.forEach((w) => split.add(w.id));
  if (badGtid.length) problems.push(`SPLIT BRAIN: acknowledged with a GTID of another server than the row's server_id: ${list(badGtid, (w) => `${w.id} GTID ${w.gtid} server_id ${primaryRows.get(w.id)}`)}`);
  const order = input.primaries.map(idOf);
  let at = 0;
  const stale: Write[] = [];
  for (const w of acked) {
    const serverId = primaryRows.get(w.id);
    if (serverId === undefined || !allowed.has(serverId) || serverId === order[at]) continue;
    const next = order.indexOf(serverId, at + 1);
    if (next < 0) stale.push(w);
    else at = next;
  }
  stale.forEach((w) => split.add(w.id));
  if (stale.length) problems.push(`SPLIT BRAIN: acknowledged by an earlier primary after a later one had acknowledged (views ${list(input.primaries)}): ${list(stale, (w) => `${w.id} by server_id ${primaryRows.get(w.id)} at ${w.end.toFixed(0)} ms`)}`);

  if (input.previous) {
    for (const address of healthy) {
      const sum = await checksumOn(sandbox, address, input.previous.below);
      if (sum.count !== input.previous.count || sum.xor !== input.previous.xor) {
        problems.push(`${address}: earlier rounds' rows changed: ${sum.count} rows (xor ${sum.xor}), ${input.previous.count} (xor ${input.previous.xor}) after the last round`);
      }
    }
  }
  return {
    problems, lost: lost.size, splitBrain: split.size, converged: wrong.length === 0,
    checksum: await checksumOn(sandbox, primary, input.to),
  };
}
