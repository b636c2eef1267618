/**
 * Typed errors shared by every task. A task's top level turns each into one plain message a person
 * on call at night can act on; nothing here carries a secret.
 */

/** A task input is missing or malformed. Raised before anything is changed. */
export class InputError extends Error {
  override name = 'InputError';
  constructor(
    readonly input: string,
    readonly problem: string,
  ) {
    super(`Input '${input}': ${problem}`);
  }
}

/** A remote service refused or failed a call; `advice` says what a person can do about it. */
export class ServiceError extends Error {
  override name = 'ServiceError';
  readonly service: string;
  readonly status?: number;
  readonly code?: string;
  readonly advice?: string;
  constructor(service: string, message: string, options: { status?: number; code?: string; advice?: string; cause?: unknown } = {}) {
    super(`${service}: ${message}${options.advice ? ` ${options.advice}` : ''}`, { cause: options.cause });
    this.service = service;
    this.status = options.status;
    this.code = options.code;
    this.advice = options.advice;
  }
}

/** The step refuses to go on because going on would break a safety rule (too few healthy servers, a clash). */
export class SafetyError extends Error {
  override name = 'SafetyError';
}

/** The message of anything thrown, without a stack. */
export function messageOf(error: unknown): string {
  if (error instanceof Error) return error.message;
  return String(error);
}
