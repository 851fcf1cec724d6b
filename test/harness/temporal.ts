import { ChildProcess, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { freePort } from '../../client/local/ports';
import { startTemporal, startTemporalOnFreePorts, stopTemporal } from '../../client/local/temporal';
import { createWorker, RunningWorker } from '../../worker/worker';
import { atEnd, track, untrack } from './cleanup';
import { tempDir } from './tempdir';

const CLI = path.join(__dirname, '..', '..', 'client', 'gtidflow.js');

// In-process workers log every workflow step at INFO: tests and benchmarks want their own output.
Runtime.install({ logger: new DefaultLogger('WARN') });

export interface TestTemporal {
  address: string;
  client: Client;
  /** A real gtidflow worker in this process (each file has its own server, so the default task queue). */
  worker(): Promise<RunningWorker>;
  /** The same, polling until the file ends. */
  runWorker(): Promise<void>;
  /** The same worker as its own process, to kill -9; `checkout`: another release's tree (test/harness/release.ts). */
  workerProcess(env?: NodeJS.ProcessEnv, checkout?: string): ChildProcess;
  /** Stops the server and starts it again on the same port and SQLite file. */
  restart(): Promise<void>;
}

/** A real Temporal dev server (headless, SQLite in a temp dir) for one test file. */
export async function startTestTemporal(): Promise<TestTemporal> {
  const dir = tempDir('temporal');
  const files = { dbFile: path.join(dir, 'temporal.sqlite'), logFile: path.join(dir, 'temporal.log'), ui: false };
  let server = await startTemporalOnFreePorts({ ...files, port: await freePort(), uiPort: await freePort() });
  track(server.pid);
  const connection = await Connection.connect({ address: server.address });
  const client = new Client({ connection, namespace: 'default' });
  atEnd(async () => {
    await connection.close();
    await stopTemporal(server.pid);
    untrack(server.pid);
    fs.rmSync(dir, { recursive: true, force: true });
  });
  const workerLog = path.join(dir, 'worker.log');
  return {
    address: server.address,
    client,
    worker: () => createWorker({ address: server.address, namespace: 'default' }),
    async runWorker() {
      const { worker, close } = await createWorker({ address: server.address, namespace: 'default' });
      const running = worker.run();
      atEnd(async () => {
        worker.shutdown();
        await running;
        await close();
      });
    },
    async restart() {
      await stopTemporal(server.pid);
      untrack(server.pid);
      server = await startTemporal({ ...files, port: server.port, uiPort: server.uiPort });
      track(server.pid);
    },
    workerProcess(env = {}, checkout) {
      const log = fs.openSync(workerLog, 'a');
      const cli = checkout ? path.join(checkout, 'client', 'gtidflow.js') : CLI;
      const child = spawn(process.execPath, [cli, 'worker'], { stdio: ['ignore', log, log], env: { ...process.env, ...env, TEMPORAL_ADDRESS: server.address } });
      fs.closeSync(log);
      track(child.pid!);
      child.on('exit', () => untrack(child.pid!));
      return child;
    },
  };
}
