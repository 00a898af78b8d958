/**
 * Whether workspaces still exist: Rigbox has no list of workspaces, so each is asked for
 * (GET /workspaces/{id}); a 404 makes its snapshots orphans. Shared by the audit and the inventory.
 */
import { RigboxApiError, type RigboxClient } from './rigbox-client.js';

/** Calls in flight at once for per-workspace probes. */
const CONCURRENCY = 8;

/** Runs `fn` over `items`, at most `limit` at once, results in order. */
export async function mapLimit<T, R>(items: T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

/** Which workspaces Rigbox answers 404 for (the others exist, or were not asked about). */
export async function goneWorkspaces(
  rigbox: RigboxClient,
  ids: readonly string[],
  signal: AbortSignal | undefined,
  progress: (what: string) => void,
): Promise<Set<string>> {
  const gone = new Set<string>();
  let done = 0;
  await mapLimit([...ids], CONCURRENCY, async (id) => {
    try {
      await rigbox.getWorkspace(id, { signal });
    } catch (err) {
      if (err instanceof RigboxApiError && err.status === 404) gone.add(id);
      else throw err;
    }
    progress(`checked ${++done} of ${ids.length} workspaces`);
  });
  return gone;
}
