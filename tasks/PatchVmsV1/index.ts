import { azureConnection } from '../../shared/azure/credentials';
import { checkPatching } from '../../shared/azure/patch-check';
import { checkClassifications, checkKbNumbers, checkMaximumDuration, REBOOT_SETTINGS } from '../../shared/azure/patching';
import { runPatchStep } from '../../shared/azure/patch-steps';
import { pollIntervalInMs } from '../../shared/azure/polling';
import { splitList } from '../../shared/core/inputs';
import { runTask } from '../../shared/core/task';

void runTask('PatchVms', async ({ input, log, clock, setOutput, attachSummary, outputDirectory, reportPreflight }) => {
  const endpoint = input.endpoint('azureSubscription', { required: true });
  const resourceGroupName = input.string('resourceGroupName', { required: true });
  const virtualMachines = input.list('virtualMachines', { required: true });
  const serverGroup = input.string('serverGroup', { required: true });
  const action = input.choice('action', ['install', 'assess', 'check'] as const, 'install');
  const classifications = checkClassifications('classifications', splitList(input.string('classifications') ?? 'Critical, Security'));
  const rebootSetting = input.choice('rebootSetting', REBOOT_SETTINGS, 'IfRequired');
  const maximumDuration = checkMaximumDuration('maximumDuration', input.string('maximumDuration') ?? 'PT2H');
  const kbNumbersToExclude = checkKbNumbers('kbNumbersToExclude', splitList(input.string('kbNumbersToExclude') ?? ''));
  const maxParallel = input.int('maxParallel', { default: 5, min: 1, max: 50 });
  const pollIntervalMs = pollIntervalInMs('pollIntervalSeconds', input.string('pollIntervalSeconds'), 15);

  if (action === 'check') {
    const connection = azureConnection(endpoint, { log, inputName: 'azureSubscription' });
    return reportPreflight(
      await checkPatching({ connection, resourceGroupName, virtualMachines, serverGroup, action: 'install', classifications, maxParallel }),
    );
  }
  const result = await runPatchStep({
    connection: azureConnection(endpoint, { log, inputName: 'azureSubscription' }),
    resourceGroupName,
    virtualMachines,
    serverGroup,
    action,
    classifications,
    rebootSetting,
    maximumDuration,
    kbNumbersToExclude,
    maxParallel,
    pollIntervalMs,
    log,
    clock,
    outputDirectory: outputDirectory(),
  });
  for (const [name, value] of Object.entries(result.outputs)) setOutput(name, value);
  attachSummary(result.title, result.summary);
  if (result.failure) throw result.failure;
  return result.outcome;
});
