import { InputError } from '../core/errors';

/**
 * The poll interval of Azure steps, given in seconds (decimals allowed). It paces our own health waits and is
 * the SDK's poll interval for long-running operations when ARM sends no `Retry-After` (core-lro keeps its
 * interval when the header is absent or 0, and follows the header otherwise, so real ARM still sets the pace).
 */
export function pollIntervalInMs(inputName: string, value: string | undefined, fallbackSeconds = 10): number {
  const text = value?.trim() || String(fallbackSeconds);
  const seconds = Number(text);
  if (!/^\d+(\.\d+)?$/.test(text) || !Number.isFinite(seconds) || seconds < 0.01 || seconds > 600) {
    throw new InputError(inputName, `'${text}' is not a number of seconds between 0.01 and 600.`);
  }
  return Math.round(seconds * 1000);
}
