/** The innermost cause: an activity's ApplicationFailure carries the reason an operator needs, its wrappers do not. */
export function rootCauseMessage(err: unknown): string {
  let e = err as { message?: string; cause?: unknown };
  while (e?.cause) e = e.cause as { message?: string; cause?: unknown };
  return e?.message ?? String(err);
}
