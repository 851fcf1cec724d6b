import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { holdCandidateApplier } from '../harness/hold';
import type { SandboxEndpoints } from '../../client/sandbox/endpoints';
import type { SandboxProcess } from '../../client/sandbox/status';
import { CLEAR_SCREEN, type WatchFrame } from '../../client/status';
import { assertRefusal, gtidflow, operatorOperation, startGtidflow, upNewSandbox } from '../harness/cli';
import { testSandbox } from '../harness/sandbox';

/** `gtidflow status <cluster> --watch`, as an operator leaves it running in a terminal, on a sandbox of its own. */
const sandbox = testSandbox('cli-watch');
const { env } = sandbox;
let endpoints: SandboxEndpoints;

before(async () => {
  endpoints = await upNewSandbox(env);
});

/** The frames printed so far (each starts by clearing the screen), the last one possibly still being written. */
const framesOf = (stdout: string) => stdout.split(CLEAR_SCREEN).slice(1);


test('--watch redraws the cluster every second; a held switchover shows its current step, then the new primary', async () => {
  const [oldPrimary, candidate] = endpoints.clusters[0].servers.map((s) => s.port);
  const hold = await holdCandidateApplier(oldPrimary, candidate);
  const promote = startGtidflow(['promote', 'sandbox', '--candidate', `127.0.0.1:${candidate}`], env);
  const watch = startGtidflow(['status', 'sandbox', '--watch'], env);
  try {
    const waiting = `current step: waiting for 127.0.0.1:${candidate} to apply`;
    // Two refreshes in a row show the operation and the step it waits at.
    const out = await watch.until('two refreshes showing the held step', (o) => framesOf(o).filter((f) => f.includes(waiting)).length >= 3);
    const frames = framesOf(out).filter((f) => f.includes(waiting));
    for (const frame of frames.slice(0, 2)) {
      const lines = frame.split('\n');
      assert.match(lines[0], /^every 1 s: gtidflow status sandbox {3}\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC/);
      assert.match(lines[2], /^cluster sandbox: view 1, primary 127\.0\.0\.1:\d+, running switchover #\d+/);
      assert.match(lines[3], new RegExp(`^  ${waiting} `));
      assert.equal(lines.filter((l) => l.startsWith('127.0.0.1:')).length, 3);
      assert.doesNotMatch(frame, /no worker has answered/);
    }
    // Redrawn, not appended: each frame has its own time.
    assert.notEqual(frames[0].split('\n')[0], frames[2].split('\n')[0]);
  } finally {
    await hold.release();
  }
  assert.equal((await promote.done).code, 0);
  const after = await watch.until('a refresh showing the new primary', (o) => /view 2, primary 127\.0\.0\.1:\d+, idle/.test(framesOf(o).slice(-2).join('')));
  // The schedule's health round may have run since: then it is the last operation.
  assert.match(framesOf(after).slice(-2).join(''), new RegExp(`view 2, primary 127\\.0\\.0\\.1:${candidate}, idle; last: (switchover|health) #\\d+ completed`));
  // Ctrl-C ends it, as it ends watch(1).
  const stopped = await watch.stop('SIGINT');
  assert.equal(stopped.code, 0, stopped.stderr);
  assert.equal(stopped.stderr, '');
});

test('with the worker stopped, --watch says since when no worker answered; with it back, the line goes', async () => {
  const processes = JSON.parse((await gtidflow(['sandbox', 'status', '--json'], env)).stdout) as SandboxProcess[];
  process.kill(processes.find((p) => p.role === 'worker')!.pid!, 'SIGKILL');
  const watch = startGtidflow(['status', 'sandbox', '--watch'], env);
  // What needs a worker (the views are the conductor's state, a query) says so within seconds instead of hanging.
  const history = gtidflow(['history', 'sandbox'], env);
  let seconds: number[];
  try {
    const out = await watch.until('the no-worker line, twice, seconds apart', (o) => {
      const counted = framesOf(o).map((f) => /no worker has answered for (\d+) s: run `gtidflow worker`/.exec(f)?.[1]).filter(Boolean).map(Number);
      return counted.length >= 2 && counted[counted.length - 1] > counted[0];
    });
    seconds = framesOf(out).map((f) => /WARNING: no worker has answered for (\d+) s/.exec(f)?.[1]).filter(Boolean).map(Number);
    // The recorded state is still shown: it is the memo, readable without a worker (the schedule may have started a health round).
    assert.match(framesOf(out).pop()!, /cluster sandbox: view \d+, primary 127\.0\.0\.1:\d+, (idle|running health #\d+)/);
  } finally {
    await watch.stop();
  }
  assert.deepEqual([...seconds].sort((a, b) => a - b), seconds, 'the seconds count up');
  assertRefusal(await history, /^gtidflow: no worker answered for cluster sandbox within 10 s: run `gtidflow worker`$/, 'history without a worker');

  // `sandbox up` brings the worker back; the --json form shows it answering again (null: no silence).
  await sandbox.up();
  const json = startGtidflow(['status', 'sandbox', '--watch', '--json'], env);
  try {
    const out = await json.until('a refresh answered by the worker', (o) => o.split('\n').some((l) => l.includes('"workerSilentSeconds":null')));
    const frames = out.trim().split('\n').map((l) => JSON.parse(l) as WatchFrame);
    const answered = frames.find((f) => f.workerSilentSeconds === null)!;
    assert.equal(answered.status?.cluster, 'sandbox');
    // No operator operation runs; the schedule's health round may, and then its step is shown.
    assert.equal(operatorOperation(answered.status!), null);
    if (!answered.status!.operation) assert.equal(answered.step, null);
  } finally {
    await json.stop('SIGTERM');
  }
});
