import { caughtUpWrites } from '../harness/writer';
import type { TestStack } from '../harness/stack';

// The one writer load, shared with the crash tests.
export { WriterLoad, type Write } from '../harness/writer';

/**
 * Acknowledged rows absent from any live member. A write whose
 * acknowledgement was lost with the old primary may still be present: only
 * acknowledged ones count. Members are read once each has applied what the
 * primary has.
 */
export async function missingRows(stack: TestStack, acknowledged: number[], dead: number[] = []): Promise<number> {
  const members = stack.cluster.addresses.map((_, i) => i).filter((i) => !dead.includes(i));
  const { members: read } = await caughtUpWrites(stack, members);
  return read.reduce((missing, m) => missing + acknowledged.filter((id) => !m.rows.has(id)).length, 0);
}

export function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

export function report(name: string, unit: string, values: number[]): void {
  console.log(`${name}: runs=${values.length} p50=${percentile(values, 50).toFixed(0)}${unit} p99=${percentile(values, 99).toFixed(0)}${unit} ` +
    `min=${Math.min(...values).toFixed(0)}${unit} max=${Math.max(...values).toFixed(0)}${unit}`);
}
