/**
 * Whether a link rigsnap printed opens in the Temporal Web UI. The UI is a single-page app: its server
 * answers 200 for any path, and the page then asks the UI server's API for what the path names. So a
 * link opens when both answer 200: the page, and the API call that page makes (a workflow link whose
 * run part is not a run id, `…/workflows/<id>/history`, is where that call answers 400 Bad Request).
 */
export interface LinkCheck {
  link: string;
  page: number;
  api: string;
  status: number;
  /** What the API answered, for a failing assertion's message. */
  body: string;
}

export function apiPathFor(link: string, uiUrl: string): string {
  const url = new URL(link);
  if (!link.startsWith(uiUrl)) throw new Error(`${link} does not point at the UI under test (${uiUrl}); set RIGSNAP_UI_URL`);
  const path = url.pathname;
  let m = /^\/namespaces\/([^/]+)\/workflows\/([^/]+)\/([^/]+)\/history$/.exec(path);
  if (m) return `/api/v1/namespaces/${m[1]}/workflows/${m[2]}?execution.runId=${m[3]}`;
  // The UI routes …/workflows/<id>/history as a run named "history": the API call the page makes.
  m = /^\/namespaces\/([^/]+)\/workflows\/([^/]+)\/history$/.exec(path);
  if (m) return `/api/v1/namespaces/${m[1]}/workflows/${m[2]}?execution.runId=history`;
  m = /^\/namespaces\/([^/]+)\/workflows$/.exec(path);
  if (m) return `/api/v1/namespaces/${m[1]}/workflows${url.search}`;
  m = /^\/namespaces\/([^/]+)\/schedules\/([^/]+)$/.exec(path);
  if (m) return `/api/v1/namespaces/${m[1]}/schedules/${m[2]}`;
  throw new Error(`no known UI page for ${link}`);
}

export async function checkLink(link: string, uiUrl: string): Promise<LinkCheck> {
  const page = (await fetch(link)).status;
  const api = apiPathFor(link, uiUrl);
  const res = await fetch(`${uiUrl}${api}`);
  return { link, page, api, status: res.status, body: (await res.text()).slice(0, 300) };
}

/** Every http(s) link in some output. */
export function linksIn(text: string): string[] {
  return [...new Set(text.match(/https?:\/\/[^\s)"'`]+/g) ?? [])];
}
