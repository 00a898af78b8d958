/** Links into the Temporal Web UI, shared by notifications (activities) and the client and CLI. */

const base = (uiUrl: string) => uiUrl.replace(/\/+$/, '');

/**
 * Link to a workflow run. Without a run id, the workflow list filtered to that id: the UI reads
 * `…/workflows/<id>/history` as a run named "history" and answers 400 Bad Request.
 */
export function workflowUrl(uiUrl: string, namespace: string, workflowId: string, runId?: string): string {
  const ns = `${base(uiUrl)}/namespaces/${encodeURIComponent(namespace)}`;
  if (!runId) return `${ns}/workflows?query=${encodeURIComponent(`WorkflowId="${workflowId}"`)}`;
  return `${ns}/workflows/${encodeURIComponent(workflowId)}/${encodeURIComponent(runId)}/history`;
}

/** Link to a schedule. */
export function scheduleUrl(uiUrl: string, namespace: string, scheduleId: string): string {
  return `${base(uiUrl)}/namespaces/${encodeURIComponent(namespace)}/schedules/${encodeURIComponent(scheduleId)}`;
}
