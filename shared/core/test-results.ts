import { issueCommand } from './commands';

/**
 * Hands result files to the agent for the run's Tests tab (`##vso[results.publish]`, the command task-lib's
 * TestPublisher writes): the agent reads the files after the step and creates a test run of them.
 */
export function publishTestResults(options: { type: 'JUnit'; files: string[]; runTitle: string }): void {
  issueCommand('results.publish', {
    type: options.type,
    mergeResults: 'false',
    runTitle: options.runTitle,
    publishRunAttachments: 'true',
    resultFiles: options.files.join(','),
    testRunSystem: 'VSTSTask',
  });
}
