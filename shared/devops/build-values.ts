import type { BuildQueryOrder, BuildResult, BuildStatus } from 'azure-devops-node-api/interfaces/BuildInterfaces';

/**
 * The few values of azure-devops-node-api's Build enums that we send or compare. Importing the enums themselves
 * puts their whole module (57 KB of type tables) into every task that starts; each constant here is typed as the
 * enum member it stands for, so a value that does not match the library's fails the type check.
 */
export const BUILD_STATUS: {
  readonly InProgress: BuildStatus.InProgress;
  readonly Completed: BuildStatus.Completed;
  readonly Cancelling: BuildStatus.Cancelling;
  readonly NotStarted: BuildStatus.NotStarted;
} = { InProgress: 1, Completed: 2, Cancelling: 4, NotStarted: 32 };

export const BUILD_RESULT: {
  readonly Succeeded: BuildResult.Succeeded;
  readonly PartiallySucceeded: BuildResult.PartiallySucceeded;
  readonly Canceled: BuildResult.Canceled;
} = { Succeeded: 2, PartiallySucceeded: 4, Canceled: 32 };

export const BUILD_QUERY_ORDER: { readonly QueueTimeDescending: BuildQueryOrder.QueueTimeDescending } = { QueueTimeDescending: 4 };
