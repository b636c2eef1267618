import { Emulator, type EmulatorRequest, type EmulatorResponse } from './kit';

/**
 * A Microsoft Teams workflow webhook (Power Automate, "When a Teams webhook request is received"), the
 * replacement for Office 365 connectors (api-facts §3). The URL carries the workflow id and a signature
 * (`sig`); a message with Adaptive Card attachments is answered 202 Accepted. A malformed card is answered
 * 400 here, so a broken card fails the test rather than vanishing in a flow run.
 *
 * Two URL shapes exist: Logic Apps style `/workflows/{id}/triggers/manual/paths/invoke` and the newer
 * `/powerautomate/automations/direct/workflows/{id}/triggers/manual/paths/invoke`; both are served.
 * The error bodies follow Logic Apps' `{error:{code, message}}`; the exact codes are assumptions.
 */

export interface EmulatedWorkflow {
  id: string;
  sig: string;
  enabled: boolean;
}

export interface ReceivedCard {
  workflow: string;
  card: Record<string, any>;
  at: number;
}

/** Element types Teams renders in Adaptive Cards up to 1.5. */
const ELEMENT_TYPES = new Set([
  'TextBlock',
  'RichTextBlock',
  'Image',
  'Media',
  'FactSet',
  'ImageSet',
  'Container',
  'ColumnSet',
  'ActionSet',
  'Table',
]);
const ACTION_TYPES = new Set(['Action.OpenUrl', 'Action.Submit', 'Action.ShowCard', 'Action.ToggleVisibility', 'Action.Execute']);
const MAX_VERSION = 1.5;

export class TeamsEmulator extends Emulator {
  readonly workflows = new Map<string, EmulatedWorkflow>();
  readonly cards: ReceivedCard[] = [];
  private sequence = 0;

  constructor() {
    super({ name: 'Teams workflows', https: true });
    this.onReset(() => {
      this.workflows.clear();
      this.cards.length = 0;
    });
    const invoke = (request: EmulatorRequest) => this.invoke(request);
    this.route('POST', '/workflows/:id/triggers/manual/paths/invoke', invoke);
    this.route('POST', '/powerautomate/automations/direct/workflows/:id/triggers/manual/paths/invoke', invoke);
  }

  /** Creates a workflow and returns its full (secret) trigger URL. */
  addWorkflow(options: { enabled?: boolean } = {}): string {
    const n = ++this.sequence;
    const id = `${n.toString(16).padStart(8, '0')}a1b2c3d4e5f60718293a4b5c6d7e`;
    const sig = Buffer.from(`sig-${n}-${Date.now()}`).toString('base64url');
    this.workflows.set(id, { id, sig, enabled: options.enabled ?? true });
    return (
      `${this.url}/workflows/${id}/triggers/manual/paths/invoke?api-version=2016-06-01&sp=%2Ftriggers%2Fmanual%2Frun&sv=1.0&` + `sig=${sig}`
    );
  }

  private invoke(request: EmulatorRequest): EmulatorResponse {
    const workflow = this.workflows.get(request.params.id);
    if (!workflow) return error(404, 'WorkflowNotFound', `The workflow '${request.params.id}' could not be found.`);
    if (request.query.get('sig') !== workflow.sig) {
      return error(401, 'DirectApiInvalidAuthorizationSignature', 'The provided authorization signature is not valid.');
    }
    if (!workflow.enabled) return error(409, 'WorkflowTriggerIsNotEnabled', `The workflow '${workflow.id}' is disabled.`);
    const problems = messageProblems(request.body);
    if (problems.length) return error(400, 'InvalidRequestContent', `The card is not valid: ${problems.join('; ')}`);
    for (const attachment of request.body.attachments) this.cards.push({ workflow: workflow.id, card: attachment.content, at: Date.now() });
    return { status: 202, body: '' };
  }
}

function error(status: number, code: string, message: string): EmulatorResponse {
  return { status, body: { error: { code, message } } };
}

/** What is wrong with a Teams message payload (empty when it is a well-formed Adaptive Card message). */
export function messageProblems(body: unknown): string[] {
  const problems: string[] = [];
  if (!body || typeof body !== 'object') return ['the body is not a JSON object'];
  const message = body as Record<string, any>;
  if (message.type !== 'message') problems.push("type must be 'message'");
  if (!Array.isArray(message.attachments) || message.attachments.length === 0)
    return [...problems, 'attachments must be a non-empty array'];
  for (const [index, attachment] of message.attachments.entries()) {
    const where = `attachments[${index}]`;
    if (attachment?.contentType !== 'application/vnd.microsoft.card.adaptive')
      problems.push(`${where}.contentType must be application/vnd.microsoft.card.adaptive`);
    problems.push(...cardProblems(attachment?.content, `${where}.content`));
  }
  return problems;
}

export function cardProblems(card: unknown, where = 'card'): string[] {
  const problems: string[] = [];
  if (!card || typeof card !== 'object') return [`${where} is not an object`];
  const c = card as Record<string, any>;
  if (c.type !== 'AdaptiveCard') problems.push(`${where}.type must be AdaptiveCard`);
  if (typeof c.version !== 'string' || !/^1\.\d$/.test(c.version) || Number(c.version) > MAX_VERSION) {
    problems.push(`${where}.version must be 1.0 to ${MAX_VERSION} (Teams' limit)`);
  }
  if (c.$schema !== undefined && typeof c.$schema !== 'string') problems.push(`${where}.$schema must be a string`);
  if (!Array.isArray(c.body) || c.body.length === 0) problems.push(`${where}.body must be a non-empty array`);
  else c.body.forEach((element: unknown, index: number) => problems.push(...elementProblems(element, `${where}.body[${index}]`)));
  if (c.actions !== undefined) {
    if (!Array.isArray(c.actions)) problems.push(`${where}.actions must be an array`);
    else c.actions.forEach((action: unknown, index: number) => problems.push(...actionProblems(action, `${where}.actions[${index}]`)));
  }
  return problems;
}

function elementProblems(element: unknown, where: string): string[] {
  if (!element || typeof element !== 'object') return [`${where} is not an object`];
  const e = element as Record<string, any>;
  if (!ELEMENT_TYPES.has(e.type)) return [`${where}.type '${String(e.type)}' is not an Adaptive Card element`];
  switch (e.type) {
    case 'TextBlock':
      return typeof e.text === 'string' && e.text !== '' ? [] : [`${where}.text must be a non-empty string`];
    case 'FactSet':
      if (!Array.isArray(e.facts) || e.facts.length === 0) return [`${where}.facts must be a non-empty array`];
      return e.facts.some((fact: any) => typeof fact?.title !== 'string' || typeof fact?.value !== 'string')
        ? [`${where}.facts need string title and value`]
        : [];
    case 'Container':
      return Array.isArray(e.items)
        ? e.items.flatMap((item: unknown, index: number) => elementProblems(item, `${where}.items[${index}]`))
        : [`${where}.items must be an array`];
    default:
      return [];
  }
}

function actionProblems(action: unknown, where: string): string[] {
  if (!action || typeof action !== 'object') return [`${where} is not an object`];
  const a = action as Record<string, any>;
  if (!ACTION_TYPES.has(a.type)) return [`${where}.type '${String(a.type)}' is not an Adaptive Card action`];
  if (a.type === 'Action.OpenUrl' && (typeof a.url !== 'string' || !/^https?:\/\//.test(a.url)))
    return [`${where}.url must be an http(s) URL`];
  return [];
}
