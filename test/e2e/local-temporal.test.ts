import assert from 'node:assert/strict';
import * as path from 'node:path';
import { test } from 'node:test';
import { listensOn } from '../../client/local/ports';
import { startTemporalOnFreePorts, stopTemporal } from '../../client/local/temporal';
import { track, untrack } from '../harness/cleanup';
import { startTestTemporal } from '../harness/temporal';
import { tempDir } from '../harness/tempdir';

/**
 * A Temporal dev server asked for a port another one holds (two sandboxes
 * both preferring 7233): the other answers there, so answering is not
 * proof; this one starts again on other free ports, and listens itself.
 */
test('a port another Temporal server holds: started on other ports, the one returned is its own', async () => {
  const other = await startTestTemporal();
  const taken = Number(other.address.split(':')[1]);
  const dir = tempDir('temporal-second');
  const started = await startTemporalOnFreePorts({ dbFile: path.join(dir, 'db.sqlite'), port: taken, uiPort: taken + 1, logFile: path.join(dir, 'log'), ui: false });
  track(started.pid);
  try {
    assert.notEqual(started.port, taken);
    assert.ok(listensOn(started.pid, started.port), `pid ${started.pid} listens on ${started.port}`);
  } finally {
    await stopTemporal(started.pid);
    untrack(started.pid);
  }
});
