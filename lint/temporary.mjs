/**
 * TEMPORARY (issue 11): files other helpers are rewriting at the same time (the gateway split, the runner
 * split, the retry helper, the rehearsal's clock). ESLint and the line-length check leave them alone until
 * those branches are merged, so that this branch does not edit them too. The lead empties this list after
 * merging, then fixes what `npm run lint` finds in them.
 */
export const TEMPORARY_NOT_LINTED = [
  'shared/azure/appgateway.ts',
  'shared/plan/runner.ts',
  'shared/plan/plan.ts',
  'shared/services/pingdom.ts',
  'shared/services/cloudflare.ts',
  'shared/core/retry.ts',
  'shared/core/http.ts',
  'test/e2e/rehearsal.ts',
];
