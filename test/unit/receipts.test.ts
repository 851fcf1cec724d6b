import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Receipts } from '../../activities/receipts';

const SILENCE_MS = 1_500;
/** A read of `progress` sent at `at` and answered `took` ms later, its source asked for a heartbeat every `heartbeat` s. */
const read = (progress: string | null, at: number, took = 10, heartbeat = 0.5) => ({ progress, heartbeatSeconds: heartbeat, sentAt: at, answeredAt: at + took });

describe('Receipts', () => {
  it('silence runs from the answer of the first read that showed the marker to the sending of the latest', () => {
    const r = new Receipts(SILENCE_MS);
    const t = r.begin();
    assert.equal(r.silentFor(t, 'a', read('f:1:4', 0, 300)), 0);
    assert.equal(r.silentFor(t, 'a', read('f:1:4', 1_000, 700)), 700);
    assert.equal(r.silentFor(t, 'a', read('f:1:4', 2_000)), 1_700);
  });

  it('a marker that moved starts the silence again', () => {
    const r = new Receipts(SILENCE_MS);
    const t = r.begin();
    r.silentFor(t, 'a', read('f:1:4', 0));
    assert.equal(r.silentFor(t, 'a', read('f:1:5', 1_000)), 0);
    assert.equal(r.silentFor(t, 'a', read('f:1:5', 1_600)), 590);
  });

  it('no marker, no heartbeat, or one too long for the silence: never silent', () => {
    const r = new Receipts(SILENCE_MS);
    const t = r.begin();
    for (const [progress, heartbeat] of [[null, 0.5], ['f:1:4', 0], ['f:1:4', 30], ['f:1:4', 0.6]] as const) {
      r.silentFor(t, 'a', read(progress, 0, 10, heartbeat));
      assert.equal(r.silentFor(t, 'a', read(progress, 5_000, 10, heartbeat)), 0, `${progress} every ${heartbeat} s`);
    }
  });

  it('forget: what was seen goes, and a read sent before it is dropped when it answers', () => {
    const r = new Receipts(SILENCE_MS);
    const stale = r.begin();
    r.silentFor(stale, 'a', read('f:1:4', 0));
    assert.equal(r.watchedFor(1_000), 990);
    r.forget();
    assert.equal(r.watchedFor(1_000), 0);
    assert.equal(r.silentFor(stale, 'a', read('f:1:4', 3_000)), 0);
    assert.equal(r.watchedFor(4_000), 0, 'the stale read did not start the watch');
    const t = r.begin();
    assert.equal(r.silentFor(t, 'a', read('f:1:4', 4_000)), 0, 'the marker seen before forget() is no baseline');
  });
});
