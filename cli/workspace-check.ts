import type { RigsnapClient } from '../client/rigsnap-client.js';
import { UsageError, type Io } from './io.js';

/**
 * What `schedule create` and `fleet` check before they start anything: that each workspace exists in
 * Rigbox, asked through a worker (the checkWorkspaces workflow: the CLI has no Rigbox token). A typo
 * (`ws_dmeo`) is refused with the nearest ids rigsnap knows, instead of a schedule that fails every
 * night; `--allow-missing` skips the check (a workspace about to be created).
 */

export const ALLOW_MISSING_FLAG = '--allow-missing';
export const ALLOW_MISSING_HELP = 'do not check that the workspaces exist in Rigbox (by default a typo is refused with the nearest known ids)';

export async function requireExistingWorkspaces(
  rig: RigsnapClient,
  io: Io,
  workspaceIds: string[],
  o: { allowMissing?: boolean },
  nothing: string,
): Promise<void> {
  if (o.allowMissing) return;
  // Without a worker the check would wait for one: say so and go on, as before the check existed.
  const workers = await rig.liveWorkers().catch(() => null);
  if (workers?.length === 0) {
    io.err(
      `rigsnap: no worker polls ${rig.taskQueue}, so whether ${workspaceIds.join(', ')} exist${workspaceIds.length === 1 ? 's' : ''} in Rigbox was not checked`,
    );
    return;
  }
  const checked = await rig.checkWorkspaces({ workspaceIds });
  const missing = checked.workspaces.filter((w) => !w.exists);
  if (missing.length === 0) return;
  const lines = missing.map((w) => `${w.workspaceId} does not exist in Rigbox${w.suggestions.length ? ` (did you mean ${w.suggestions.join(' or ')}?)` : ''}`);
  throw new UsageError(`${lines.join('; ')}. ${nothing}; pass ${ALLOW_MISSING_FLAG} to go on anyway.`);
}
