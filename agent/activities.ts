import * as fs from 'node:fs';
import * as path from 'node:path';
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { AGENT_PROTOCOL } from '../workflows/api';
import { AgentConfig, replacedDir, stagingDir } from './config';
import { localServer, mariadbdPid, startMariadbd, stopMariadbd } from './mariadbd';
import { saveErrantEvents } from './errant';
import { runTool } from './run-tool';
import { CopyFailed, receiveCopy } from './transfer';
import { transferToken } from './token';

/** Every agent task says which protocol it speaks (workflows/api AGENT_PROTOCOL). */
export interface AgentTask {
  protocol: number;
}

export interface AgentStatus {
  server: string;
  protocol: number;
  /** The server_id of the server answering on the agent's socket (null: none answers): the workflow checks it is the server it means. */
  serverId: number | null;
  transfer: { host: string; port: number };
  /** What a physical copy of this server's data weighs, about (binlogs and relay logs are not copied). */
  dataBytes: number;
  /** What the filesystem of the datadir has free. */
  freeBytes: number;
}

/**
 * Markers a clone leaves in the copy, so that a retried step sees what is
 * done: received, prepared; the prepared marker in the datadir itself says
 * the copy was swapped in.
 */
const RECEIVED = 'gtidflow-received';
const PREPARED = 'gtidflow-prepared';

/** A copy needs room for the backup and InnoDB's work while preparing it. */
const ROOM_FACTOR = 1.2;

/** The activities of a host agent: host-level steps for the one server beside it. */
export function agentActivities(config: AgentConfig) {
  const staging = stagingDir(config);
  const refuseOtherProtocol = ({ protocol }: AgentTask) => {
    if (protocol !== AGENT_PROTOCOL) {
      throw ApplicationFailure.nonRetryable(`the agent of ${config.server} speaks protocol ${AGENT_PROTOCOL}, the task ${protocol}: run agents and workers of one release`, 'AgentProtocol');
    }
  };

  /**
   * Stops mariadbd, swaps the prepared copy in for the datadir (the old one
   * kept aside until the next clone), starts it; the copy's GTID position.
   * Done already (a crash after the swap): only started, never copied again.
   */
  const install = async (cloneId: string): Promise<{ gtid: string; changed: boolean }> => {
    const installed = marker(config.datadir, PREPARED)?.cloneId === cloneId;
    if (!installed) {
      if (marker(staging, PREPARED)?.cloneId !== cloneId) throw ApplicationFailure.nonRetryable(`${config.server}: no prepared copy of clone ${cloneId} to install`, 'CloneMissing');
      // Only the conductor decides roles: a server taking writes is never replaced (the workflow made it read-only first).
      if ((await localServer(config))?.readOnly === false) {
        throw ApplicationFailure.nonRetryable(`${config.server} is writable: a clone never replaces a writable server's data`, 'Writable');
      }
      await stopMariadbd(config);
      // A crash between the two renames leaves no datadir: the copy is still staged, the old data already aside.
      if (fs.existsSync(config.datadir)) {
        fs.rmSync(replacedDir(config), { recursive: true, force: true });
        fs.renameSync(config.datadir, replacedDir(config));
      }
      fs.renameSync(staging, config.datadir);
    }
    await startMariadbd(config);
    return { gtid: clonePosition(config.datadir), changed: !installed };
  };

  return {
    async agentStatus(task: AgentTask): Promise<AgentStatus> {
      refuseOtherProtocol(task);
      return {
        server: config.server, protocol: AGENT_PROTOCOL, serverId: (await localServer(config))?.serverId ?? null, transfer: config.transfer,
        dataBytes: copiedBytes(config.datadir), freeBytes: freeBytes(path.dirname(config.datadir)),
      };
    },

    /**
     * The monitor's third vantage point (workflows/detection.ts): returns as
     * soon as mariadbd's pid differs from `pid` (null: not running), checked
     * every 250 ms, heartbeating. Without `pid`, from the one running when
     * the task starts, or at once when its pid file names none running (a
     * mariadbd killed leaves its pid file). No pid file at all is no news:
     * a pidFile that is not the server's must not look like a death at every
     * watch start. Only a hint: the monitor still asks the replicas and
     * probes the primary.
     */
    async watchMariadbd(task: AgentTask & { pid?: number | null }): Promise<{ was: number | null; pid: number | null }> {
      refuseOtherProtocol(task);
      const ctx = Context.current();
      const now = () => mariadbdPid(config) ?? null;
      const was = task.pid === undefined ? now() : task.pid;
      if (task.pid === undefined && was === null && fs.existsSync(config.pidFile)) return { was, pid: null };
      for (;;) {
        const pid = now();
        if (pid !== was) return { was, pid };
        ctx.heartbeat({ pid });
        await Promise.race([new Promise((resolve) => setTimeout(resolve, 250)), ctx.cancelled]);
      }
    },

    /** Refuses a clone that could not fit, before anything is copied. */
    async checkCloneRoom(task: AgentTask & { bytes: number }): Promise<{ freeBytes: number; needBytes: number }> {
      refuseOtherProtocol(task);
      const free = freeBytes(path.dirname(config.datadir));
      const need = Math.ceil(task.bytes * ROOM_FACTOR);
      if (free < need) {
        throw ApplicationFailure.nonRetryable(`${config.server}: ${mb(free)} free beside ${config.datadir}, a clone needs ${mb(need)}: nothing copied`, 'DiskTooSmall');
      }
      return { freeBytes: free, needBytes: need };
    },

    /** Receives a physical copy from the donor's agent into staging; a retry starts the copy again, a finished one is not redone. */
    async receiveClone(task: AgentTask & { cloneId: string; donorServer: string; donor: { host: string; port: number }; expectedBytes: number }): Promise<{ bytes: number; changed: boolean }> {
      refuseOtherProtocol(task);
      const done = marker(staging, RECEIVED);
      if (done?.cloneId === task.cloneId) return { bytes: done.bytes as number, changed: false };
      fs.rmSync(staging, { recursive: true, force: true });
      fs.mkdirSync(staging, { recursive: true });
      const ctx = Context.current();
      const transferId = `${task.cloneId}#${ctx.info.attempt}`;
      const started = Date.now();
      let last = 0;
      // What `gtidflow status --watch` and the Web UI show: each heartbeat carries the latest (one without details would erase it).
      let progress = { bytes: 0, rate: 0, etaSeconds: 0 };
      const onBytes = (bytes: number) => {
        if (Date.now() - last < 1000) return;
        last = Date.now();
        const rate = bytes / Math.max(1, (Date.now() - started) / 1000);
        progress = { bytes, rate: Math.round(rate), etaSeconds: Math.max(0, Math.round((task.expectedBytes - bytes) / rate)) };
        ctx.heartbeat(progress);
      };
      const beat = setInterval(() => ctx.heartbeat(progress), 2_000);
      try {
        const bytes = await receiveCopy({ donor: task.donor, transferId, token: transferToken(config.keyFile, task.donorServer, transferId), into: staging, onBytes, signal: ctx.cancellationSignal });
        writeMarker(staging, RECEIVED, { cloneId: task.cloneId, bytes });
        return { bytes, changed: true };
      } catch (err) {
        if (err instanceof CopyFailed && err.refused) throw ApplicationFailure.nonRetryable(err.message, 'CopyRefused');
        throw err;
      } finally {
        clearInterval(beat);
      }
    },

    /** Makes the received copy consistent (mariadb-backup --prepare): once. */
    async prepareClone(task: AgentTask & { cloneId: string }): Promise<{ changed: boolean }> {
      refuseOtherProtocol(task);
      if (marker(staging, PREPARED)?.cloneId === task.cloneId) return { changed: false };
      if (marker(staging, RECEIVED)?.cloneId !== task.cloneId) throw ApplicationFailure.nonRetryable(`${config.server}: no received copy of clone ${task.cloneId} to prepare`, 'CloneMissing');
      const beat = setInterval(() => Context.current().heartbeat(), 2_000);
      try {
        await runTool(['mariadb-backup', '--prepare', `--target-dir=${staging}`], { signal: Context.current().cancellationSignal });
      } finally {
        clearInterval(beat);
      }
      writeMarker(staging, PREPARED, { cloneId: task.cloneId });
      return { changed: true };
    },

    /** Swaps the prepared copy in (install, above), heartbeating while mariadbd stops and starts. */
    async installClone(task: AgentTask & { cloneId: string }): Promise<{ gtid: string; changed: boolean }> {
      refuseOtherProtocol(task);
      const beat = setInterval(() => Context.current().heartbeat(), 2_000);
      try {
        return await install(task.cloneId);
      } finally {
        clearInterval(beat);
      }
    },

    /** Saves the binlog events of transactions the cluster does not have (a diverged server's) to a file the operator can read. */
    async saveErrant(task: AgentTask & { range: { domains: number[]; serverId: number; startAfter: string }; name: string }): Promise<{ file: string }> {
      refuseOtherProtocol(task);
      return { file: await saveErrantEvents(config, task.range, task.name) };
    },
  };
}

export type AgentActivities = ReturnType<typeof agentActivities>;

/** The GTID position mariadb-backup recorded for the copy (xtrabackup_binlog_info: file, position, GTIDs). */
function clonePosition(datadir: string): string {
  const gtid = fs.readFileSync(path.join(datadir, 'xtrabackup_binlog_info'), 'utf8').trim().split('\t')[2];
  if (!gtid) throw ApplicationFailure.nonRetryable(`the copy in ${datadir} names no GTID position (xtrabackup_binlog_info): it cannot replicate`, 'ClonePosition');
  return gtid;
}

function marker(dir: string, name: string): Record<string, unknown> | undefined {
  try {
    return JSON.parse(fs.readFileSync(path.join(dir, name), 'utf8')) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}

function writeMarker(dir: string, name: string, content: Record<string, unknown>): void {
  const file = path.join(dir, name);
  fs.writeFileSync(`${file}.tmp`, JSON.stringify(content));
  fs.renameSync(`${file}.tmp`, file);
}

/** Sizes of the files a physical copy takes: everything but binlogs, relay logs and the redo log (mariadb-backup copies its records, not the file). */
function copiedBytes(dir: string): number {
  let total = 0;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const file = path.join(dir, entry.name);
    if (entry.isDirectory()) total += copiedBytes(file);
    else if (entry.isFile() && !/^((binlog|relay-bin|.*-bin)\.(\d+|index)|ib_logfile\d+)$/.test(entry.name)) total += fs.statSync(file).size;
  }
  return total;
}

function freeBytes(dir: string): number {
  const stats = fs.statfsSync(dir);
  return stats.bavail * stats.bsize;
}

const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MB`;
