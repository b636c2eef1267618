/**
 * A stand-in for azure-devops-extension-sdk in the results tab's bundle (the test builds the tab with this in
 * its place): the host's side, played from `globalThis.__sdkStub`, with every call noted in `__sdkCalls`.
 */

interface StubSettings {
  build?: { id: number; project: { id: string }; buildNumber?: string };
  buildAreaUrl: string;
  token: string;
}

const stub = globalThis as unknown as { __sdkStub: StubSettings; __sdkCalls: string[] };
stub.__sdkCalls = [];
const note = (call: string) => stub.__sdkCalls.push(call);

export async function init(options?: { loaded?: boolean }): Promise<void> {
  note(`init loaded=${String(options?.loaded)}`);
}

export function getConfiguration(): Record<string, unknown> {
  const build = stub.__sdkStub.build;
  if (!build) return {};
  return { onBuildChanged: (handler: (value: typeof build) => void) => setTimeout(() => handler(build), 0) };
}

export async function getService<T>(contributionId: string): Promise<T> {
  note(`getService ${contributionId}`);
  return {
    getResourceAreaLocation: async (area: string) => (note(`getResourceAreaLocation ${area}`), stub.__sdkStub.buildAreaUrl),
  } as unknown as T;
}

export async function getAccessToken(): Promise<string> {
  return stub.__sdkStub.token;
}

export async function notifyLoadSucceeded(): Promise<void> {
  note('notifyLoadSucceeded');
}

export async function notifyLoadFailed(error: Error | string): Promise<void> {
  note(`notifyLoadFailed ${String(error)}`);
}

export function resize(): void {
  note('resize');
}
