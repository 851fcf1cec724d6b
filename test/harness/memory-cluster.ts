import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type * as activities from '../../activities';
import type { ReplicationStatus, SemiSyncStatus } from '../../activities/db/flavor';
import { mariadb } from '../../activities/db/mariadb';
import type { ServerState } from '../../activities/server-state';
import type { PublishedView } from '../../activities/topology';
import { parseAddress } from '../../workflows/logic/address';
import { gtidContains, gtidDivergent } from '../../workflows/logic/gtid';

type Activities = typeof activities;

/**
 * The activities the conductor's scenarios reach, acting on a JS model of
 * a MariaDB replica set. Any other is not registered: a scenario reaching
 * one fails saying so. The operations themselves are tested on real servers.
 */
export type MemoryActivities = Pick<Activities,
  | 'getServerState' | 'probeServer' | 'setReadOnly' | 'fencePrimary' | 'setSemiSync' | 'changeSource' | 'freezeReplica' | 'waitForGtid'
  | 'killClientConnections' | 'promote' | 'checkJoinable' | 'checkServerConfig' | 'publishTopology' | 'fenceWriter' | 'routeWriter'
  | 'monitorPrimary'>;
export type Step = keyof MemoryActivities;

export interface MemoryServer {
  address: string;
  serverId: number;
  alive: boolean;
  /** MariaDB GTID position. Nothing writes: every server holds the first transactions, so every wait is reached at once. */
  executed: string;
  readOnly: boolean;
  /** Whom it replicates from; null: nobody. */
  source: string | null;
  ioRunning: boolean;
  sqlRunning: boolean;
}

/** A step the test holds: `reached` once an operation is waiting in it, until `release`. */
export interface Hold {
  reached: Promise<void>;
  release(): void;
}

interface Fault {
  step: Step;
  address?: string;
  act(): Promise<void>;
}

function latch(): { opened: Promise<void>; open(): void } {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { opened, open };
}

const unknown = (address: string) => ApplicationFailure.nonRetryable(`${address}: no such server in the memory cluster`, 'UnknownHost');

/** The transactions every server holds from the start (origin server_id 1). */
const FIRST_TRANSACTIONS = '0-1-3';
/** The worker hears of a cancellation only in a heartbeat's answer (the test worker throttles them to about this). */
const HEARTBEAT_MS = 100;
const SEMI_SYNC_OFF: SemiSyncStatus = { primaryEnabled: false, primaryActive: false, replicaEnabled: false, replicaActive: false, primaryClients: 0, waitPoint: '', timeoutMs: null };

/**
 * Servers, a router and the published view, as the activities leave them;
 * a test declares a server dead, or holds or fails the next call of a step.
 * Fresh, it is a set of copies of one primary's data, the first one
 * writable, none replicating: the conductor's bootstrap makes the cluster.
 */
export class MemoryCluster {
  readonly servers = new Map<string, MemoryServer>();
  /** The writer backend's server (none while fenced) and the reader backend's. */
  readonly router: { writer: string | null; readers: string[] } = { writer: null, readers: [] };
  /** Published on the primary, from where it replicates to every member. */
  published: PublishedView | null = null;
  private readonly deaths = new Map<string, ReturnType<typeof latch>>();
  private faults: Fault[] = [];

  constructor(addresses: string[]) {
    addresses.forEach((address, i) => {
      this.servers.set(address, { address, serverId: i + 1, alive: true, executed: FIRST_TRANSACTIONS, readOnly: i > 0, source: null, ioRunning: false, sqlRunning: false });
      this.deaths.set(address, latch());
    });
  }

  server(address: string): MemoryServer {
    const server = this.servers.get(address);
    if (!server) throw unknown(address);
    return server;
  }

  /** The server, if it answers; else the failure a connection to a dead server gets. */
  live(address: string): MemoryServer {
    const server = this.server(address);
    if (!server.alive) throw ApplicationFailure.retryable(`${address}: connect ECONNREFUSED`, 'Unreachable');
    return server;
  }

  kill(address: string): void {
    this.server(address).alive = false;
    this.deaths.get(address)!.open();
  }

  /** Resolves when the test declares the server dead (at once if it is). */
  untilDead(address: string): Promise<void> {
    return this.deaths.get(address)?.opened ?? Promise.reject(unknown(address));
  }

  /** The next call of `step` (on `address`, if given) waits before it acts, until released or cancelled. */
  hold(step: Step, address?: string): Hold {
    const reached = latch();
    const released = latch();
    this.faults.push({
      step, address,
      act: () => {
        reached.open();
        return whileNotCancelled(released.opened);
      },
    });
    return { reached: reached.opened, release: released.open };
  }

  /** The next call of `step` (on `address`, if given) fails before it acts, not to be retried. */
  failNext(step: Step, address?: string): void {
    this.faults.push({ step, address, act: () => Promise.reject(ApplicationFailure.nonRetryable(`${step} failed on ${address ?? 'the memory cluster'} (as the test asked)`, 'MemoryFault')) });
  }

  /** Where every activity starts: a hold or fault the test set for this call, if any. */
  async enter(step: Step, address: string): Promise<void> {
    const fault = this.faults.find((f) => f.step === step && (f.address === undefined || f.address === address));
    if (!fault) return;
    this.faults = this.faults.filter((f) => f !== fault);
    await fault.act();
  }
}

/** Waits, heartbeating so that a cancellation (the workflow's, or the worker shutting down) ends the wait. */
async function whileNotCancelled(event: Promise<void>): Promise<void> {
  const context = Context.current();
  context.heartbeat();
  const beat = setInterval(() => context.heartbeat(), HEARTBEAT_MS);
  try {
    await Promise.race([event, context.cancelled]);
  } finally {
    clearInterval(beat);
  }
}

function replicationOf(server: MemoryServer): ReplicationStatus | null {
  if (!server.source) return null;
  const { host, port } = parseAddress(server.source);
  return {
    sourceHost: host, sourcePort: port, ioRunning: server.ioRunning, ioConnecting: false, sqlRunning: server.sqlRunning,
    ioErrno: 0, ioError: '', sqlErrno: 0, sqlError: '', secondsBehind: 0, received: server.executed, usingGtid: true,
  };
}

function stateOf(server: MemoryServer): ServerState {
  return {
    address: server.address, reachable: true, version: 'memory', flavor: 'mariadb', serverId: server.serverId,
    executed: server.executed, history: server.executed, originId: String(server.serverId), applied: server.executed,
    readOnly: server.readOnly, replication: replicationOf(server), semiSync: SEMI_SYNC_OFF,
  };
}

/**
 * The activities, on whichever cluster `current` returns: one worker
 * serves every test of a file, each test with a cluster of its own.
 */
export function memoryActivities(current: () => MemoryCluster): MemoryActivities {
  const at = async (step: Step, address: string) => {
    const cluster = current();
    await cluster.enter(step, address);
    return cluster.live(address);
  };
  return {
    async getServerState({ address }) {
      return stateOf(await at('getServerState', address));
    },
    async probeServer({ address }) {
      await current().enter('probeServer', address);
      const server = current().server(address);
      return server.alive ? stateOf(server) : { address, reachable: false, error: `${address}: connect ECONNREFUSED`, refused: true };
    },
    async setReadOnly({ address, readOnly }) {
      const server = await at('setReadOnly', address);
      const changed = server.readOnly !== readOnly;
      server.readOnly = readOnly;
      return { address, changed, readOnly };
    },
    async fencePrimary({ address }) {
      const server = await at('fencePrimary', address);
      const changed = !server.readOnly;
      server.readOnly = true;
      return { address, changed, killed: 0, executed: server.executed };
    },
    async setSemiSync({ address }) {
      await at('setSemiSync', address);
      // Not modelled: no scenario depends on it.
      return { address, changed: false, waitingForReplica: false };
    },
    async changeSource({ address, source }) {
      const server = await at('changeSource', address);
      const changed = !server.readOnly || server.source !== source || !server.ioRunning || !server.sqlRunning;
      Object.assign(server, { readOnly: true, source, ioRunning: true, sqlRunning: true });
      return { address, changed, replication: replicationOf(server) };
    },
    async freezeReplica({ address }) {
      const server = await at('freezeReplica', address);
      const changed = server.source !== null && server.ioRunning;
      if (changed) Object.assign(server, { ioRunning: false, sqlRunning: true });
      return { address, changed, replication: replicationOf(server) };
    },
    async waitForGtid({ address, gtid }) {
      const server = await at('waitForGtid', address);
      return { address, reached: gtidContains('mariadb', server.executed, gtid), executed: server.executed };
    },
    async killClientConnections({ address }) {
      await at('killClientConnections', address);
      return { address, killed: 0 };
    },
    async promote({ address }) {
      const server = await at('promote', address);
      const changed = server.source !== null || server.readOnly;
      Object.assign(server, { source: null, ioRunning: false, sqlRunning: false, readOnly: false });
      return { address, changed };
    },
    async checkJoinable({ address, source }) {
      const server = await at('checkJoinable', address);
      const divergent = gtidDivergent('mariadb', server.executed, current().live(source).executed);
      const result = { address, source, remedy: mariadb.divergedRemedy };
      return divergent
        ? { ...result, joinable: false, divergent, reason: `${address} has transactions ${source} lacks: ${divergent}` }
        : { ...result, joinable: true, divergent: '', reason: `${source} holds every transaction of ${address}` };
    },
    async checkServerConfig({ address }) {
      const server = await at('checkServerConfig', address);
      return {
        address, flavor: 'mariadb', serverId: server.serverId, logBin: true, logReplicaUpdates: true, replicaUpdatesSetting: 'log_slave_updates',
        binlogFormat: 'ROW', gtidStrict: true, gtidSetting: 'gtid_strict_mode',
      };
    },
    async publishTopology({ address, view }) {
      await at('publishTopology', address);
      const cluster = current();
      const stored = cluster.published?.viewId ?? -1;
      if (stored > view.viewId) throw ApplicationFailure.nonRetryable(`${address}: stale view ${view.viewId}: view ${stored} is already published`, 'StaleView');
      cluster.published = view;
      return { address, changed: stored !== view.viewId };
    },
    async fenceWriter({ server }) {
      await current().enter('fenceWriter', server);
      const { router } = current();
      const changed = router.writer === server;
      if (changed) router.writer = null;
      return { server, changed };
    },
    async routeWriter({ writer, readers }) {
      await current().enter('routeWriter', writer ?? '');
      const { router } = current();
      const changed = router.writer !== writer || router.readers.join() !== [...readers].sort().join();
      Object.assign(router, { writer, readers: [...readers].sort() });
      return { changed, writer, readers: router.readers };
    },
    /** Watches until the test declares the primary dead: detected at that moment. */
    async monitorPrimary({ primary }) {
      await whileNotCancelled(current().untilDead(primary));
      return { kind: 'primary-dead', reason: `${primary} does not answer, nor do its replicas hear from it (memory cluster)`, detectedAfterMs: 0 };
    },
  };
}
