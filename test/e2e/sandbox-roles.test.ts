import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as path from 'node:path';
import { before, test } from 'node:test';
import { asRoot, holdCandidateApplier } from '../harness/hold';
import { sleep } from '../../client/local/ports';
import type { SandboxEndpoints } from '../../client/sandbox/endpoints';
import type { SandboxProcess } from '../../client/sandbox/status';
import { gtidflow } from '../harness/cli';
import { testSandbox } from '../harness/sandbox';

/**
 * Only the conductor decides roles (safety rule 11 of the safety issue):
 * `sandbox up`, run to bring back a worker killed in the middle of a
 * switchover, only starts processes; it never makes a server writable.
 */
const sandbox = testSandbox('sandbox-roles');
const { env, up } = sandbox;
let endpoints: SandboxEndpoints;


/** Whether the server takes writes; asked again when the switchover's fence ends the asking session itself. */
async function writable(port: number): Promise<boolean> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await asRoot(port, async (c) => Number(((await c.query('SELECT @@read_only AS ro'))[0] as { ro: number }[])[0].ro) === 0);
    } catch (err) {
      if (attempt === 5) throw err;
    }
  }
}

before(async () => {
  endpoints = await up();
});

test('a fresh sandbox is bootstrapped by the conductor: one writable server, the recorded primary, view 1 published', async () => {
  const ports = endpoints.clusters[0].servers.map((s) => s.port);
  const status = JSON.parse((await gtidflow(['status', 'sandbox', '--json'], env)).stdout) as { viewId: number; primary: string; lastOperation: { kind: string } };
  assert.equal(status.viewId, 1);
  // A health round runs only once bootstrapped: the schedule's may have been the last operation already.
  assert.ok(['bootstrap', 'health'].includes(status.lastOperation.kind), status.lastOperation.kind);
  const open = [];
  for (const port of ports) if (await writable(port)) open.push(`127.0.0.1:${port}`);
  assert.deepEqual(open, [status.primary]);
  const view = await asRoot(ports[1], async (c) => (await c.query("SELECT view_id FROM gtidflow.view WHERE cluster = 'sandbox'"))[0]);
  assert.deepEqual(view, [{ view_id: 1 }]);
});

test('up while a switchover is in flight and its worker is dead never makes the fenced primary writable', async () => {
  const [oldPrimary, , candidate] = endpoints.clusters[0].servers.map((s) => s.port);
  const hold = await holdCandidateApplier(oldPrimary, candidate);
  const cli = path.join(__dirname, '..', '..', 'client', 'gtidflow.js');
  const promote = spawn(process.execPath, [cli, 'promote', 'sandbox', '--candidate', `127.0.0.1:${candidate}`], { env: { ...process.env, ...env }, stdio: 'ignore' });
  const promoted = new Promise<number>((resolve) => promote.on('close', (code) => resolve(code ?? -1)));
  while (await writable(oldPrimary)) await sleep(20);

  const processes = JSON.parse((await gtidflow(['sandbox', 'status', '--json'], env)).stdout) as SandboxProcess[];
  process.kill(processes.find((p) => p.role === 'worker')!.pid!, 'SIGKILL');
  const again = gtidflow(['sandbox', 'up', '--json'], env);
  // While the switchover waits, nothing but the conductor may open the old primary again.
  const until = Date.now() + 6_000;
  while (Date.now() < until) {
    assert.equal(await writable(oldPrimary), false, 'sandbox up made the fenced old primary writable');
    await sleep(100);
  }
  await hold.release();
  const result = await again;
  assert.equal(result.code, 0, result.stderr);
  assert.equal(await promoted, 0);
  const open = [];
  for (const s of endpoints.clusters[0].servers) if (await writable(s.port)) open.push(s.port);
  assert.deepEqual(open, [candidate]);
});
