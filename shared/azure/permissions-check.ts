import { messageOf } from '../core/errors';
import type { PreflightFinding } from '../core/preflight';
import type { Pipeline } from '@azure/core-rest-pipeline';
import { describeArmError, ROLE_FILE } from './arm-errors';
import type { AzureConnection } from './credentials';
import { loadCoreRestPipeline } from '../core/lazy';

/**
 * The Azure half of a preflight: can the connection sign in, and does its identity hold, on the resource
 * group, every action of the shipped role that the step's real action needs? ARM says so through the
 * caller's effective permissions (Permissions - List For Resource Group, api-version 2022-04-01): a list of
 * `actions` and `notActions` patterns with `*` wildcards, one entry per role assignment.
 */

/**
 * The Actions of the role the extension ships (`extension/azure-role-maintenance-window.json`), copied here
 * because a task cannot read the repository at run time; a unit test keeps the two equal.
 */
export const MAINTENANCE_ROLE_ACTIONS: readonly string[] = [
  'Microsoft.Network/applicationGateways/read',
  'Microsoft.Network/applicationGateways/write',
  'Microsoft.Network/applicationGateways/backendhealth/action',
  'Microsoft.Network/applicationGateways/backendAddressPools/join/action',
  'Microsoft.Network/virtualNetworks/subnets/join/action',
  'Microsoft.Network/publicIPAddresses/join/action',
  'Microsoft.Network/ApplicationGatewayWebApplicationFirewallPolicies/join/action',
  'Microsoft.ManagedIdentity/userAssignedIdentities/assign/action',
  'Microsoft.Network/networkInterfaces/read',
  'Microsoft.Network/networkInterfaces/write',
  'Microsoft.Network/locations/operations/read',
  'Microsoft.Network/locations/operationResults/read',
  'Microsoft.Compute/virtualMachines/read',
  'Microsoft.Compute/virtualMachines/installPatches/action',
  'Microsoft.Compute/virtualMachines/assessPatches/action',
  'Microsoft.Compute/locations/operations/read',
];

/** What AppGatewayDrain needs: the role's Network and identity actions, and reading VMs to find their NICs. */
export const GATEWAY_ACTIONS = MAINTENANCE_ROLE_ACTIONS.filter(
  (action) => !/^Microsoft\.Compute\/virtualMachines\/(install|assess)Patches/.test(action),
);
/** What PatchVms needs: the role's Compute actions. */
export const PATCHING_ROLE_ACTIONS = MAINTENANCE_ROLE_ACTIONS.filter((action) => action.startsWith('Microsoft.Compute/'));

export const PERMISSIONS_API_VERSION = '2022-04-01';

export interface Permission {
  actions?: string[];
  notActions?: string[];
}

function matches(pattern: string, action: string): boolean {
  const regex = new RegExp(
    `^${pattern
      .split('*')
      .map((part) => part.replace(/[.+?^${}()|[\]\\/]/g, '\\$&'))
      .join('.*')}$`,
    'i',
  );
  return regex.test(action);
}

/** The needed actions no permission entry allows (an entry allows an action its actions match and its notActions do not). */
export function missingActions(permissions: readonly Permission[], needed: readonly string[]): string[] {
  return needed.filter(
    (action) =>
      !permissions.some(
        (entry) => (entry.actions ?? []).some((p) => matches(p, action)) && !(entry.notActions ?? []).some((p) => matches(p, action)),
      ),
  );
}

/**
 * Any ARM SDK client: its pipeline (token, proxy, retries) sends the one request no SDK method covers. The step's
 * own client is passed, so a check does not load an SDK its task never calls.
 */
export interface ArmSender {
  readonly pipeline: Pipeline;
}

/** The caller's permissions on a resource group, every page. */
export async function listResourceGroupPermissions(
  sender: ArmSender,
  connection: AzureConnection,
  resourceGroupName: string,
): Promise<Permission[]> {
  const { armUrl, subscriptionId } = connection;
  let url: string | undefined =
    `${armUrl}/subscriptions/${encodeURIComponent(subscriptionId)}/resourceGroups/${encodeURIComponent(resourceGroupName)}` +
    `/providers/Microsoft.Authorization/permissions?api-version=${PERMISSIONS_API_VERSION}`;
  const out: Permission[] = [];
  // Loaded here (lazy.js): only the preflight check sends this request.
  const { createDefaultHttpClient, createPipelineRequest } = loadCoreRestPipeline();
  const httpClient = createDefaultHttpClient();
  for (let page = 0; url && page < 50; page++) {
    const response = await sender.pipeline.sendRequest(httpClient, createPipelineRequest({ url, method: 'GET' }));
    if (response.status !== 200) {
      const error = Object.assign(new Error(`HTTP ${response.status}: ${response.bodyAsText?.slice(0, 300) ?? ''}`), {
        statusCode: response.status,
      });
      throw describeArmError(error, `reading the permissions on resource group '${resourceGroupName}'`);
    }
    const body = JSON.parse(response.bodyAsText ?? '{}') as { value?: Permission[]; nextLink?: string };
    out.push(...(body.value ?? []));
    url = body.nextLink;
  }
  return out;
}

/** Object named in Azure findings: the connection, so the fix is applied to the right one. */
export function connectionObject(connection: AzureConnection, inputName = 'azureSubscription'): string {
  return `Azure service connection ${connection.connectionId} (${inputName}, subscription ${connection.subscriptionId})`;
}

/** Signs in with the connection; a NO-GO finding when Entra refuses (expired secret, removed federated credential). */
export async function checkSignIn(connection: AzureConnection, inputName?: string): Promise<PreflightFinding> {
  const object = connectionObject(connection, inputName);
  try {
    await connection.credential.getToken(connection.credentialScopes);
    return {
      check: 'azure-sign-in',
      object,
      verdict: 'GO',
      why: `signed in (${connection.scheme}) for tenant ${connection.tenantId}.`,
      fix: '',
    };
  } catch (error) {
    return {
      check: 'azure-sign-in',
      object,
      verdict: 'NO-GO',
      why: `Microsoft Entra ID refused the connection's ${connection.scheme}: ${messageOf(error).split('\n')[0]}`,
      fix: "Renew the service principal's client secret (or certificate / federated credential) and update the service connection with it.",
    };
  }
}

/** Compares the identity's effective permissions on the resource group with the actions the step needs. */
export async function checkPermissions(options: {
  sender: ArmSender;
  connection: AzureConnection;
  resourceGroupName: string;
  needed: readonly string[];
  purpose: string;
}): Promise<PreflightFinding> {
  const { sender, connection, resourceGroupName, needed, purpose } = options;
  const object = `resource group ${resourceGroupName} (${connectionObject(connection)})`;
  let permissions: Permission[];
  try {
    permissions = await listResourceGroupPermissions(sender, connection, resourceGroupName);
  } catch (error) {
    return {
      check: 'azure-permissions',
      object,
      verdict: 'NO-GO',
      why: `could not read the identity's permissions: ${messageOf(error)}`,
      fix: `Check the connection and that resource group '${resourceGroupName}' exists.`,
    };
  }
  const missing = missingActions(permissions, needed);
  if (missing.length === 0) {
    return {
      check: 'azure-permissions',
      object,
      verdict: 'GO',
      why: `the identity holds all ${needed.length} action(s) ${purpose} needs.`,
      fix: '',
    };
  }
  return {
    check: 'azure-permissions',
    object,
    verdict: 'NO-GO',
    why: `the identity lacks ${missing.length} action(s) ${purpose} needs: ${missing.join(', ')}.`,
    fix: `Assign the role in ${ROLE_FILE} ("Maintenance Window Operator") to the connection's identity on '${resourceGroupName}'.`,
  };
}
