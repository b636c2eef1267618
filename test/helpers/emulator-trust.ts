import * as fs from 'node:fs';
import * as https from 'node:https';
import { emulatorCertificate } from '../emulators/kit';

/**
 * Trusts the emulators' CA in this process (for clients that run here rather than in a task's child process,
 * where NODE_EXTRA_CA_CERTS does it), and returns the function that puts the global agent back exactly.
 * Exactly matters: Node's Agent lets its own options override a request's, so a `ca: undefined` left behind
 * on the global agent silently overrides the `ca` that a later test file in the same worker passes per request.
 */
export async function trustEmulatorsInProcess(): Promise<() => void> {
  const { file } = await emulatorCertificate();
  const options = https.globalAgent.options;
  const hadOwn = Object.prototype.hasOwnProperty.call(options, 'ca');
  const previous = options.ca;
  options.ca = fs.readFileSync(file);
  return () => {
    if (hadOwn) options.ca = previous;
    else delete options.ca;
  };
}
