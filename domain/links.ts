/** Links into the Temporal Web UI, shared by notifications (activities) and the client and CLI. */

const base = (uiUrl: string) => uiUrl.replace(/\/+$/, '');

/** Link to a workflow run (or its latest run, without a run id). */
export function workflowUrl(uiUrl: string, namespace: string, workflowId: string, runId?: string): string {
  const run = runId ? `/${encodeURIComponent(runId)}` : '';
  return `${base(uiUrl)}/namespaces/${encodeURIComponent(namespace)}/workflows/${encodeURIComponent(workflowId)}${run}/history`;
}

/** Link to a schedule. */
export function scheduleUrl(uiUrl: string, namespace: string, scheduleId: string): string {
  return `${base(uiUrl)}/namespaces/${encodeURIComponent(namespace)}/schedules/${encodeURIComponent(scheduleId)}`;
}
