/// <reference lib="dom" />
import { NIGHT_ATTACHMENT_NAME, NIGHT_ATTACHMENT_TYPE, parseNightReport, renderNightParts } from '../../shared/report';

/**
 * The "Maintenance window" tab of a pipeline run: asks the Build REST API for the run's attachments of type
 * `maintenance-window-night` (what the finish step attached), and draws the first with the same renderer as
 * the rehearsal's page. A run without one gets a plain sentence saying it is not a maintenance window run.
 * The SDK and fetch are handed in, so a test drives this page with a stub of the SDK.
 */

/** The Build REST area, whose base URL the location service gives for this organization. */
export const BUILD_AREA_ID = '965220d5-5bb9-42cf-8d67-9b146df2a5a4';
export const LOCATION_SERVICE = 'ms.vss-features.location-service';

export interface TabBuild {
  id: number;
  project: { id: string; name?: string };
  buildNumber?: string;
}

/** The part of azure-devops-extension-sdk this page uses. */
export interface TabSdk {
  init(options?: { loaded?: boolean; applyTheme?: boolean }): Promise<void>;
  getConfiguration(): { [key: string]: unknown };
  getService<T>(contributionId: string): Promise<T>;
  getAccessToken(): Promise<string>;
  notifyLoadSucceeded(): Promise<void>;
  notifyLoadFailed(error: Error | string): Promise<void>;
  resize(width?: number, height?: number): void;
}

interface LocationService {
  getResourceAreaLocation(resourceAreaId: string): Promise<string>;
}

interface AttachmentList {
  count?: number;
  value?: Array<{ name: string; _links?: { self?: { href?: string } } }>;
}

export interface TabHost {
  sdk: TabSdk;
  fetch: typeof fetch;
  document: Document;
}

function show(host: TabHost, html: string, css = ''): void {
  const root = host.document.getElementById('night') ?? host.document.body;
  if (css && !host.document.getElementById('night-style')) {
    const style = host.document.createElement('style');
    style.id = 'night-style';
    style.textContent = css;
    host.document.head.appendChild(style);
  }
  root.innerHTML = html;
  host.sdk.resize();
}

function sentence(text: string): string {
  return `<main><h1>Maintenance window</h1><p role="status">${text.replace(/[&<>"]/g, (c) => `&#${c.charCodeAt(0)};`)}</p></main>`;
}

async function getText(host: TabHost, url: string, token: string, accept: string): Promise<string> {
  const response = await host.fetch(url, { headers: { Authorization: `Bearer ${token}`, Accept: accept } });
  if (!response.ok) throw new Error(`${url} answered ${response.status} ${response.statusText}`);
  return response.text();
}

/** Finds the night attached to this build and draws it, or says why there is none. */
export async function showBuild(host: TabHost, build: TabBuild): Promise<'night' | 'none'> {
  const locations = await host.sdk.getService<LocationService>(LOCATION_SERVICE);
  const base = (await locations.getResourceAreaLocation(BUILD_AREA_ID)).replace(/\/?$/, '/');
  const token = await host.sdk.getAccessToken();
  const builds = `${base}${encodeURIComponent(build.project.id)}/_apis/build/builds`;
  const listUrl = `${builds}/${build.id}/attachments/${NIGHT_ATTACHMENT_TYPE}?api-version=7.1`;
  const list = JSON.parse(await getText(host, listUrl, token, 'application/json')) as AttachmentList;
  const items = list.value ?? [];
  const attachment = items.find((item) => item.name === NIGHT_ATTACHMENT_NAME) ?? items[0];
  const href = attachment?._links?.self?.href;
  if (!href) {
    show(
      host,
      sentence(
        `Run ${build.buildNumber ?? build.id} is not a maintenance window run: it has no night report attached ` +
          '(the MaintenanceWindow@1 finish step attaches one when a window ends).',
      ),
    );
    return 'none';
  }
  const parts = renderNightParts(parseNightReport(await getText(host, href, token, 'application/octet-stream')));
  host.document.title = parts.title;
  show(host, parts.body, parts.css);
  return 'night';
}

/** Starts the tab: the host calls `onBuildChanged` with the run whose results are shown. */
export async function startTab(host: TabHost): Promise<void> {
  await host.sdk.init({ loaded: false });
  const onBuildChanged = host.sdk.getConfiguration().onBuildChanged as ((handler: (build: TabBuild) => void) => void) | undefined;
  if (typeof onBuildChanged !== 'function') {
    show(host, sentence("This page shows a maintenance window run in its pipeline run's results; it was opened elsewhere."));
    await host.sdk.notifyLoadSucceeded();
    return;
  }
  onBuildChanged((build) => {
    showBuild(host, build)
      .then(() => host.sdk.notifyLoadSucceeded())
      .catch((error: unknown) => {
        const message = error instanceof Error ? error.message : String(error);
        show(host, sentence(`The night of run ${build.buildNumber ?? build.id} could not be shown: ${message}`));
        void host.sdk.notifyLoadFailed(message);
      });
  });
}
