import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WORKFLOW_TYPES } from '../../contract/index.js';
import { RIGSNAP_METRICS } from '../../worker/metrics.js';
import { connectTestTemporal, uniqueTaskQueue, type TestTemporal } from '../helpers/temporal.js';
import { eventually, testWorkflowId, workflowFailure } from '../helpers/workflows.js';
import { startWorkerProcess, type WorkerProcess } from '../helpers/worker-process.js';

/**
 * A worker whose RIGBOX_API_URL points at a web site (a tiny local server answering every request with
 * an HTML page and 200), with the production defaults: it says so at start-up (its log, and the
 * `rigsnap_rigbox_api_state` gauge), and an operation fails at its preflight, typed BadResponse, final,
 * naming RIGBOX_API_URL, before anything is asked of the site but reads.
 */

let temporal: TestTemporal;
let site: http.Server;
let siteUrl: string;
const requests: string[] = [];
let worker: WorkerProcess;
const taskQueue = uniqueTaskQueue('wrongurl');

beforeAll(async () => {
  temporal = await connectTestTemporal();
  site = http.createServer((req, res) => {
    requests.push(`${req.method} ${req.url}`);
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end('<!DOCTYPE html><html><head><title>Acme</title></head><body><h1>Welcome to Acme</h1></body></html>');
  });
  await new Promise<void>((r) => site.listen(0, '127.0.0.1', r));
  siteUrl = `http://127.0.0.1:${(site.address() as AddressInfo).port}/api`;
  worker = await startWorkerProcess({ TEMPORAL_ADDRESS: temporal.address, RIGBOX_API_URL: siteUrl, RIGSNAP_TASK_QUEUE: taskQueue, RIGSNAP_LOG_LEVEL: 'INFO' });
});

afterAll(async () => {
  await worker?.stop('SIGKILL');
  await new Promise((r) => site?.close(r));
  await temporal?.close();
});

describe('a RIGBOX_API_URL that is not Rigbox', () => {
  it('the worker says so at start-up, in its log and its health gauge', async () => {
    await eventually(async () => (await worker.scrape()).sum(RIGSNAP_METRICS.rigboxApi, { state: 'not_rigbox' }) === 1, 30_000, 'the gauge to say not_rigbox');
    const scrape = await worker.scrape();
    expect(scrape.sum(RIGSNAP_METRICS.rigboxApi, { state: 'rigbox' })).toBe(0);
    await eventually(() => worker.output.join('').includes(`RIGBOX_API_URL (${siteUrl}) has never answered like the Rigbox API`), 10_000, 'the log line');
  });

  it('a snapshot fails at its preflight, typed BadResponse and final, naming RIGBOX_API_URL; nothing is stopped', async () => {
    const handle = await temporal.client.workflow.start(WORKFLOW_TYPES.snapshot, {
      taskQueue,
      workflowId: testWorkflowId('wrongurl'),
      args: [{ workspaceId: 'ws_wrong_url', name: 'never' }],
    });
    const failure = await workflowFailure(handle.result());
    const cause = (failure.cause as typeof failure | undefined) ?? failure;
    const typed = [failure, cause].find((f) => f.type === 'BadResponse');
    expect(typed, `${failure.type}: ${failure.message} / ${cause.type}: ${cause.message}`).toBeDefined();
    expect(typed!.nonRetryable).toBe(true);
    expect(typed!.message).toContain('RIGBOX_API_URL');
    expect(typed!.message).toContain(siteUrl);
    // Reads only: no stop (or any other change) reached the site.
    expect(requests.filter((r) => !r.startsWith('GET '))).toEqual([]);
    // Within the bound: the run ended within 30 s of its start (server times, not a wall clock here).
    const desc = await handle.describe();
    expect(desc.closeTime!.getTime() - desc.startTime.getTime()).toBeLessThan(30_000);
  }, 60_000);
});
