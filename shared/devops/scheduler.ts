import { InputError, ServiceError } from '../core/errors';
import { HttpClient, HttpError, type HttpMethod } from '../core/http';
import type { Endpoint } from '../core/inputs';
import type { Log } from '../core/log';

/**
 * An outside job scheduler reached by one configurable HTTP call to hold and one to release: the way to reach
 * schedulers that have no Azure DevOps integration, such as Fortra Automate Schedule (formerly Skybot), whose
 * web service is off by default, uses Basic auth, and whose hold/release endpoints are not publicly documented
 * (ask the vendor for the calls and put them in the step's inputs).
 */

export const SCHEDULER_RECORD_KIND = 'scheduler-hold';

export interface SchedulerCall {
  method: HttpMethod;
  /** Absolute, or relative to the connection's URL. */
  url: string;
  body?: string;
  headers: Record<string, string>;
}

/** What the hold's undo record keeps: enough to say what to undo, never a header value (they may be secrets). */
export interface SchedulerRecordData {
  scheduler: string;
  holdUrl: string;
  releaseMethod: HttpMethod;
  releaseUrl: string;
  releaseBody?: string;
}

const METHODS: HttpMethod[] = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'];

/** Builds a call from task inputs; every problem names its input. */
export function schedulerCall(
  inputs: { method?: string; url?: string; body?: string; headers?: string },
  names: { method: string; url: string; body: string; headers: string },
  variables: Record<string, string>,
): SchedulerCall {
  const method = (inputs.method ?? 'POST').toUpperCase() as HttpMethod;
  if (!METHODS.includes(method)) throw new InputError(names.method, `'${inputs.method}' is not one of ${METHODS.join(', ')}.`);
  if (!inputs.url) throw new InputError(names.url, 'is required for an outside scheduler: the URL of the call.');
  const headers: Record<string, string> = {};
  for (const line of (inputs.headers ?? '')
    .split(/\r?\n/)
    .map((text) => text.trim())
    .filter(Boolean)) {
    const colon = line.indexOf(':');
    if (colon <= 0) throw new InputError(names.headers, `'${line}' is not a header; write one per line as Name: value.`);
    headers[line.slice(0, colon).trim()] = line.slice(colon + 1).trim();
  }
  const body = inputs.body ? substitute(inputs.body, variables, names.body) : undefined;
  if (body && /json/i.test(headers['Content-Type'] ?? headers['content-type'] ?? 'application/json') && /^\s*[[{]/.test(body)) {
    try {
      JSON.parse(body);
    } catch (error) {
      throw new InputError(names.body, `looks like JSON but is not valid (${(error as Error).message}).`);
    }
  }
  return { method, url: substitute(inputs.url, variables, names.url), body, headers };
}

/** `{{windowId}}`-style placeholders; unknown ones are refused so a typo is not sent to the scheduler. */
function substitute(text: string, variables: Record<string, string>, inputName: string): string {
  return text.replace(/\{\{\s*([A-Za-z0-9_.]+)\s*\}\}/g, (whole, name: string) => {
    if (!(name in variables))
      throw new InputError(
        inputName,
        `unknown placeholder ${whole}; known: ${Object.keys(variables)
          .map((key) => `{{${key}}}`)
          .join(', ')}.`,
      );
    return variables[name];
  });
}

function hostOf(url: string): string {
  try {
    return new URL(url).host.toLowerCase();
  } catch {
    return url;
  }
}

/** Sends one call to the scheduler with the connection's credentials (Basic for user/password, Bearer for a token). */
export async function callScheduler(options: {
  endpoint?: Endpoint;
  call: SchedulerCall;
  log: Log;
  what: string;
}): Promise<{ status: number; body: string }> {
  const { endpoint, call, log } = options;
  const headers: Record<string, string> = { ...call.headers };
  if (endpoint) {
    const parameters = Object.fromEntries(Object.entries(endpoint.parameters).map(([key, value]) => [key.toLowerCase(), value]));
    if (parameters.username !== undefined && parameters.password !== undefined) {
      headers.Authorization = `Basic ${Buffer.from(`${parameters.username}:${parameters.password}`).toString('base64')}`;
      log.addSecret(headers.Authorization.slice(6));
    } else if (parameters.apitoken) {
      headers.Authorization = `Bearer ${parameters.apitoken}`;
    }
  }
  if (call.body && !Object.keys(headers).some((key) => key.toLowerCase() === 'content-type')) {
    headers['Content-Type'] = /^\s*[[{]/.test(call.body) ? 'application/json' : 'text/plain';
  }
  const baseUrl = /^https?:\/\//i.test(call.url) ? call.url : endpoint?.url;
  // The connection's credentials go to the connection's host and nowhere else, whatever a URL (or a record) says.
  if (endpoint?.url && headers.Authorization && baseUrl && hostOf(baseUrl) !== hostOf(endpoint.url)) {
    throw new InputError(
      'schedulerConnection',
      `the call URL is on host '${hostOf(baseUrl)}', not the connection's host '${hostOf(endpoint.url)}': the connection's ` +
        `credentials are never sent elsewhere. Nothing was sent.`,
    );
  }
  if (!baseUrl)
    throw new InputError(
      'schedulerConnection',
      `the call URL '${call.url}' is relative, so a connection with the scheduler's URL is needed.`,
    );
  const http = new HttpClient({ baseUrl, service: 'Outside scheduler', log, retry: { maxRetries: 3, deadlineMs: 120_000 } });
  try {
    const response = await http.request<string>({
      method: call.method,
      path: /^https?:\/\//i.test(call.url) ? undefined : call.url,
      body: call.body,
      headers,
      responseType: 'text',
    });
    log.info(`${options.what}: ${call.method} answered ${response.status}.`);
    return { status: response.status, body: String(response.data ?? '') };
  } catch (error) {
    if (error instanceof HttpError) {
      const detail = typeof error.data === 'string' ? error.data.slice(0, 300) : '';
      throw new ServiceError('Outside scheduler', `${options.what} failed: ${error.message}${detail ? ` (${log.mask(detail)})` : ''}`, {
        status: error.status,
        advice:
          error.status === 401 || error.status === 403
            ? "Check the connection's user name and password (or token) and that the scheduler's web service is enabled."
            : undefined,
        cause: error,
      });
    }
    throw error;
  }
}
