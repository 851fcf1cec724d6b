import * as fs from 'node:fs';
import * as os from 'node:os';
import { NativeConnection, Worker } from '@temporalio/worker';
import type { TemporalSettings } from '../client/settings';
import { agentTaskQueue } from '../workflows/api';
import { buildId } from '../worker/build';
import { agentActivities } from './activities';
import { loadAgentConfig } from './config';
import { serveTransfers } from './transfer';

/**
 * A host agent: a Temporal worker beside one database server, polling
 * host:<server> for host-level steps (clone, errant saving, is mariadbd
 * running), and serving copies of its server to other agents. Runs until
 * SIGINT/SIGTERM.
 */
export async function runAgent(configFile: string, settings: TemporalSettings): Promise<void> {
  const config = loadAgentConfig(configFile);
  fs.mkdirSync(config.workDir, { recursive: true });
  const transfers = await serveTransfers(config);
  const connection = await NativeConnection.connect({ address: settings.address });
  try {
    const worker = await Worker.create({
      connection,
      namespace: settings.namespace,
      taskQueue: agentTaskQueue(config.server),
      activities: agentActivities(config),
      identity: `gtidflow-agent ${buildId()} ${process.pid}@${os.hostname()}`,
    });
    console.log(`gtidflow agent ${worker.options.identity} for ${config.server} polling ${worker.options.taskQueue} on ${settings.address}, ` +
      `copies served on ${config.transfer.host}:${config.transfer.port}`);
    await worker.run();
  } finally {
    transfers.close();
    await connection.close();
  }
}
