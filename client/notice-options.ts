/**
 * The options of `snooze` and `skip`, checked without the Temporal SDK (the CLI checks them before it
 * connects): the snooze's duration, the skip's reason, and who asks.
 */
import os from 'node:os';
import { MIN_SNOOZE_MS, parseDuration } from '../domain/index.js';
import { invalidInput } from './errors.js';

/** Who asks, as the CLI names them: user@host. */
export function defaultRequester(): string {
  let user = 'unknown';
  try {
    user = os.userInfo().username;
  } catch {
    // No passwd entry (some containers): the host still says where it came from.
  }
  return `${user}@${os.hostname()}`.slice(0, 100);
}

export function checkSnooze(forText: string): void {
  const ms = parseDuration(forText);
  if (ms === undefined || ms < MIN_SNOOZE_MS)
    throw invalidInput(`for: must be a duration of at least 1m such as "1h" or "30m" (units s, m, h), got ${JSON.stringify(forText)}`, ['for']);
}

export function checkReason(reason: string | undefined): void {
  if (reason !== undefined && (!reason.trim() || reason.length > 200)) throw invalidInput('reason: must be text of 1-200 characters', ['reason']);
}
