import * as fs from 'node:fs';
import * as path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { freePort } from '../../client/local/ports';
import { startTemporal, stopTemporal } from '../../client/local/temporal';
import { createWorker, RunningWorker } from '../../worker/worker';
import { atEnd, track, untrack } from './cleanup';
import { tempDir } from './tempdir';

export interface TestTemporal {
  address: string;
  client: Client;
  taskQueue: string;
  /** A real gtidflow worker on this file's own task queue. */
  worker(): Promise<RunningWorker>;
}

/** A real Temporal dev server (headless, SQLite in a temp dir) for one test file. */
export async function startTestTemporal(): Promise<TestTemporal> {
  const dir = tempDir('temporal');
  const server = await startTemporal({
    dbFile: path.join(dir, 'temporal.sqlite'), port: await freePort(), uiPort: 0, logFile: path.join(dir, 'temporal.log'), ui: false,
  });
  track(server.pid);
  const connection = await Connection.connect({ address: server.address });
  const client = new Client({ connection, namespace: 'default' });
  const taskQueue = `test-${path.basename(dir)}`;
  atEnd(async () => {
    await connection.close();
    await stopTemporal(server.pid);
    untrack(server.pid);
    fs.rmSync(dir, { recursive: true, force: true });
  });
  return {
    address: server.address,
    client,
    taskQueue,
    worker: () => createWorker({ address: server.address, namespace: 'default', taskQueue }),
  };
}
