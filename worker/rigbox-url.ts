/**
 * Tells a wrong RIGBOX_API_URL from a maintenance, for people: at start-up the worker asks Rigbox once
 * (one listing page) and says in its log, and in the `rigsnap_rigbox_api_state` gauge, whether the URL
 * answers like the Rigbox API. Until it has, it asks again now and then; every later answer, whoever
 * asks, keeps the state (activities/rigbox-client.ts UrlRecognition). Operations fail at their preflight
 * while the URL has never answered like Rigbox (activities/snapshots.ts).
 */
import type { ApiRecognition, RigboxClient, UrlRecognition } from '../activities/rigbox-client.js';

/** Between probes while the URL is not known to be Rigbox's (a listing page each: cheap). */
const PROBE_AGAIN_MS = 15_000;
/** Quick probes at start-up, so that a wrong URL is named within seconds. */
const FIRST_PROBES = 3;

export interface WatchRigboxUrlOptions {
  rigbox: RigboxClient;
  recognition: UrlRecognition;
  url: string;
  log: (level: 'info' | 'warn' | 'error', message: string) => void;
  /** The health gauge. */
  onState?: (state: ApiRecognition['state']) => void;
  /** False once the worker has stopped. */
  running: () => boolean;
}

export function describeRecognition(r: ApiRecognition, url: string): { level: 'info' | 'warn' | 'error'; message: string } {
  if (r.state === 'rigbox') return { level: 'info', message: `RIGBOX_API_URL (${url}) answers like the Rigbox API` };
  if (r.state === 'not-rigbox') {
    return {
      level: 'error',
      message:
        `RIGBOX_API_URL (${url}) has never answered like the Rigbox API (${r.lastAnswer ?? 'no answer'}): check RIGBOX_API_URL; ` +
        'operations fail at their preflight, before changing anything, until it does',
    };
  }
  return {
    level: 'warn',
    message: `Rigbox at RIGBOX_API_URL (${url}) has not answered yet${r.lastAnswer ? ` (${r.lastAnswer})` : ''}: a maintenance, or a wrong URL? Checking again`,
  };
}

/** Probes until the URL has answered like Rigbox, logging each change of state. Returns a stop function. */
export function watchRigboxUrl(o: WatchRigboxUrlOptions): () => void {
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  let logged: string | undefined;
  const report = (r: ApiRecognition) => {
    o.onState?.(r.state);
    const { level, message } = describeRecognition(r, o.url);
    if (message !== logged) o.log(level, message);
    logged = message;
  };
  o.recognition.onChange(report);
  const probe = async (n: number) => {
    timer = undefined;
    if (stopped || !o.running()) return;
    const r = await o.rigbox.probe();
    if (r.state === 'rigbox') return report(r);
    if (n + 1 >= FIRST_PROBES) report(r);
    timer = setTimeout(() => void probe(n + 1), n + 1 < FIRST_PROBES ? 1000 : PROBE_AGAIN_MS);
    timer.unref();
  };
  o.onState?.(o.recognition.current.state);
  void probe(0);
  return () => {
    stopped = true;
    if (timer) clearTimeout(timer);
  };
}
