import { Client, Connection } from '@temporalio/client';
import type { TemporalSettings } from './settings';

/** A client, checked to reach the server and the namespace: a clear one-line error otherwise. */
export async function connectClient(settings: TemporalSettings): Promise<Client> {
  let connection: Connection;
  try {
    connection = await Connection.connect({ address: settings.address, connectTimeout: 3000 });
  } catch (err) {
    throw new Error(`cannot reach the Temporal server at ${settings.address}: ${oneLine(err)}`);
  }
  try {
    await connection.workflowService.describeNamespace({ namespace: settings.namespace });
  } catch (err) {
    await connection.close();
    throw new Error(`the Temporal server at ${settings.address} has no usable namespace ${settings.namespace}: ${oneLine(err)}`);
  }
  return new Client({ connection, namespace: settings.namespace });
}

export function oneLine(err: unknown): string {
  return String((err as Error)?.message ?? err).split('\n')[0];
}
