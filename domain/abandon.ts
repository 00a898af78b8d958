/**
 * The rules of `abandon`, the operator's way out of an operation that keeps trying to start its
 * workspace again (a revoked token, a maintenance that does not end): what a request must say, and when
 * a run accepts one. Pure: the workflow's update validator, the client and the tests share them.
 */

/** What an operator sends: why (required, shown everywhere the abandon is recorded), and who. */
export interface AbandonRequest {
  reason: string;
  /** Who asks (the CLI sends the OS user); "unknown" when not given. */
  by?: string;
}

/** The abandon as recorded: in the failure's details, the progress query, the current details and the log. */
export interface AbandonRecord {
  by: string;
  /** Workflow time when the run accepted it (ISO). */
  at: string;
  reason: string;
}

/** The update's answer, once the run has stopped trying. */
export interface AbandonResult extends AbandonRecord {
  workspaceId: string;
  /**
   * `abandoned`: the run stopped trying and ends Abandoned, the workspace left as it was (stopped).
   * `restarted`: the attempt in flight started the workspace before it could be stopped; the run ends
   * with its original failure and nothing was left down.
   * `gone`: Rigbox said the workspace no longer exists before the run could stop: it ends WorkspaceGone.
   */
  outcome: 'abandoned' | 'restarted' | 'gone';
}

export const MAX_ABANDON_REASON = 500;
export const MAX_ABANDON_BY = 100;

/** Checks and normalises a request (trimmed text); the message names the field. */
export function parseAbandonRequest(raw: unknown): { ok: true; value: { reason: string; by: string } } | { ok: false; message: string } {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return { ok: false, message: 'expected an object {reason, by?}' };
  const { reason, by, ...rest } = raw as Record<string, unknown>;
  const extra = Object.keys(rest);
  if (extra.length) return { ok: false, message: `unknown field ${extra[0]}` };
  if (typeof reason !== 'string' || reason.trim() === '') return { ok: false, message: 'reason: required: say why the operation is abandoned' };
  if (reason.trim().length > MAX_ABANDON_REASON) return { ok: false, message: `reason: at most ${MAX_ABANDON_REASON} characters` };
  if (by !== undefined && (typeof by !== 'string' || by.trim() === '' || by.trim().length > MAX_ABANDON_BY)) {
    return { ok: false, message: `by: a name of 1-${MAX_ABANDON_BY} characters` };
  }
  return { ok: true, value: { reason: reason.trim(), by: typeof by === 'string' ? by.trim() : 'unknown' } };
}

/**
 * Where a run is in starting its workspace again: null when it is not (nothing to abandon), else the
 * rounds that failed so far.
 */
export interface RestartLoopState {
  workspaceId: string;
  roundsFailed: number;
}

/**
 * Why a run refuses an abandon now, or undefined when it accepts it. Only a run that is starting its
 * workspace again and has failed at least one round is abandoned: anything else ends with `cancel`,
 * which starts the workspace again (abandon would leave it down on purpose), and a first round may
 * still succeed within seconds.
 */
export function abandonRefusal(loop: RestartLoopState | null, already: AbandonRecord | null): string | undefined {
  if (already) return `already abandoned by ${already.by} at ${already.at} (${already.reason})`;
  if (!loop) return 'it is not trying to start a workspace again: nothing to abandon (to stop it, cancel it: `rigsnap cancel`)';
  if (loop.roundsFailed < 1) return `it is starting ${loop.workspaceId} again and no attempt has failed yet: try again if it keeps failing`;
  return undefined;
}
