/**
 * The route template of a Rigbox request ("GET /workspaces/:id/snapshots"), for the request counter's
 * `endpoint` label: ids never become label values, so the series stay few however large the fleet.
 */
export function routeTemplate(method: string, path: string): string {
  const segments = path.replace(/^\/+/, '').split('/');
  const templated = segments.map((segment, i) => {
    if (i === 0) return segment;
    if (segments[i - 1] === 'workspaces') return ':id';
    if (segments[i - 1] === 'snapshots') return ':snapshot_id';
    return segment;
  });
  return `${method} /${templated.join('/')}`;
}
