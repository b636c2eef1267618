import { ServiceError } from './errors';
import type { HttpError } from './http';

/**
 * What a failed HTTP call means to the client that made it: an answer that is not the service's API, one
 * that never ended, or a 2xx whose JSON is not the documented shape. (Split from ./http.ts, which re-exports
 * these.)
 */

/** Advice for an answer that is not the service's API: something else answered in its place. */
export function notTheApiAdvice(service: string): string {
  return (
    `Something other than ${service}'s API answered (a proxy, a sign-in or error page, a wrong server URL in the ` +
    "service connection); nothing was concluded from that answer. Check the connection's server URL and run the step again."
  );
}

/**
 * The ServiceError for a call whose answer was not the documented one (not JSON, too large) or never ended
 * (timeout, deadline); undefined for an error status or a network failure, which each client maps itself.
 */
export function answerFailure(error: HttpError, advice?: string): ServiceError | undefined {
  if (error.failure === 'status' || error.failure === 'network') return undefined;
  return new ServiceError(error.service, withoutService(error), {
    status: error.status,
    code: error.failure,
    advice: advice ?? (error.unexpectedAnswer ? notTheApiAdvice(error.service) : undefined),
    cause: error,
  });
}

/** The error's message without its leading service name, for a ServiceError (which puts it first). */
export function withoutService(error: HttpError): string {
  return error.message.startsWith(`${error.service} `) ? error.message.slice(error.service.length + 1) : error.message;
}

/**
 * A 2xx whose JSON is not the documented shape (`checks` not an array, no `ok`): a typed error naming the
 * service, the call and what is wrong, never an empty answer.
 */
export function unexpectedShape(service: string, where: string, status: number, problem: string): ServiceError {
  return new ServiceError(service, `answered ${status} to ${where} with JSON that is not the documented answer: ${problem}.`, {
    status,
    code: 'unexpected-shape',
    advice: notTheApiAdvice(service),
  });
}
