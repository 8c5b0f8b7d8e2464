/**
 * Pulumi unit-test harness: `pulumi.runtime.setMocks` plus a record of every resource
 * registration as the engine would receive it — type, name, URN, parent URN, the explicit and
 * implicit dependencies (`dependsOn`), and the inputs with their secret markers intact.
 *
 * Import this module (and call `installMocks`) BEFORE importing anything that creates
 * resources: the program module creates its resources when it is imported.
 */
import * as pulumi from '@pulumi/pulumi';

export interface Registration {
  readonly type: string;
  readonly name: string;
  readonly urn: string;
  /** URN of the parent ('' for the stack root). */
  readonly parent: string;
  /** URNs this resource waits for (explicit dependsOn and input dependencies). */
  readonly dependencies: readonly string[];
  /** Inputs as the engine received them; secret values are `{ <sig>: <secretSig>, value }`. */
  readonly rawInputs: Record<string, unknown>;
  /** Inputs with secret markers removed. */
  readonly inputs: Record<string, unknown>;
  readonly custom: boolean;
  readonly provider: string;
  /** Outputs the engine is told to treat as secret (the mock engine does not apply them). */
  readonly additionalSecretOutputs: readonly string[];
  /** `pulumi destroy` leaves the object in the cluster. */
  readonly retainOnDelete: boolean;
}

export interface MockCall {
  readonly token: string;
  readonly inputs: Record<string, unknown>;
}

export const FAKE_CONNECTION_STRING =
  'Endpoint=sb://fake-ns.servicebus.windows.net/;SharedAccessKeyName=event-mesh;SharedAccessKey=FAKEKEYFAKEKEY=';

const registrations: Registration[] = [];
const calls: MockCall[] = [];

/** True when `v` is a secret as the Pulumi RPC layer encodes it. */
export function isRpcSecret(v: unknown): boolean {
  return pulumi.runtime.isRpcSecret(v);
}

export function unwrapSecrets(v: unknown): unknown {
  if (isRpcSecret(v)) return unwrapSecrets((v as { value: unknown }).value);
  if (Array.isArray(v)) return v.map(unwrapSecrets);
  if (v && typeof v === 'object') {
    return Object.fromEntries(Object.entries(v as Record<string, unknown>).map(([k, x]) => [k, unwrapSecrets(x)]));
  }
  return v;
}

/** State the fake engine returns: the inputs, plus the outputs Azure would compute. */
function stateFor(type: string, name: string, inputs: Record<string, unknown>): { id: string; state: Record<string, unknown> } {
  const state: Record<string, unknown> = { ...inputs };
  switch (type) {
    case 'azure-native:resources:ResourceGroup':
      state.name = inputs.resourceGroupName ?? `${name}1234`;
      state.location = inputs.location ?? 'westeurope';
      break;
    case 'azure-native:eventhub:Namespace': {
      const ns = (inputs.namespaceName as string | undefined) ?? `${name}5678`;
      state.name = ns;
      state.serviceBusEndpoint = `https://${ns}.servicebus.windows.net:443/`;
      break;
    }
    case 'azure-native:eventhub:NamespaceAuthorizationRule':
      state.name = inputs.authorizationRuleName ?? name;
      break;
    case 'azure-native:eventhub:EventHub':
      state.name = inputs.eventHubName ?? name;
      break;
    case 'gcp:serviceaccount/account:Account': {
      const email = `${inputs.accountId as string}@${inputs.project as string}.iam.gserviceaccount.com`;
      state.email = email;
      state.name = `projects/${inputs.project as string}/serviceAccounts/${email}`;
      state.member = `serviceAccount:${email}`;
      break;
    }
    case 'gcp:projects/iAMCustomRole:IAMCustomRole':
      state.name = `projects/${inputs.project as string}/roles/${inputs.roleId as string}`;
      break;
    default:
      break;
  }
  return { id: `${name}-id`, state };
}

let installed = false;

/** Installs the mocks once per module registry (each jest test file has its own). */
export function installMocks(project = 'event-mesh', stack = 'test'): void {
  if (installed) return;
  installed = true;
  pulumi.runtime.setMocks(
    {
      newResource: (args) => stateFor(args.type, args.name, args.inputs as Record<string, unknown>),
      call: (args) => {
        calls.push({ token: args.token, inputs: args.inputs as Record<string, unknown> });
        switch (args.token) {
          case 'azure-native:eventhub:listNamespaceKeys':
            return {
              keyName: args.inputs.authorizationRuleName,
              primaryConnectionString: FAKE_CONNECTION_STRING,
              secondaryConnectionString: FAKE_CONNECTION_STRING.replace('FAKEKEY', 'OTHERKEY'),
              primaryKey: 'FAKEKEYFAKEKEY=',
              secondaryKey: 'OTHERKEYOTHERKEY=',
            };
          case 'azure-native:resources:getResourceGroup':
            return { name: args.inputs.resourceGroupName, location: 'northeurope', id: `/rg/${args.inputs.resourceGroupName}` };
          default:
            return args.inputs;
        }
      },
    },
    project,
    stack,
    false,
  );
  // Record what the SDK sends: MockResourceArgs lacks the parent and the dependencies.
  const monitor = pulumi.runtime.getMonitor() as unknown as {
    registerResource(req: RegisterRequest, cb: (err: unknown, res: { getUrn(): string } | undefined) => void): void;
  };
  const original = monitor.registerResource.bind(monitor);
  monitor.registerResource = (req, cb) =>
    original(req, (err, res) => {
      if (!err && res) {
        const rawInputs = pulumi.runtime.deserializeProperties(req.getObject()) as Record<string, unknown>;
        registrations.push({
          type: req.getType(),
          name: req.getName(),
          urn: res.getUrn(),
          parent: req.getParent(),
          dependencies: req.getDependenciesList(),
          rawInputs,
          inputs: unwrapSecrets(rawInputs) as Record<string, unknown>,
          custom: req.getCustom(),
          provider: req.getProvider(),
          additionalSecretOutputs: req.getAdditionalsecretoutputsList(),
          retainOnDelete: req.getRetainondelete(),
        });
      }
      cb(err, res);
    });
}

interface RegisterRequest {
  getType(): string;
  getName(): string;
  getParent(): string;
  getDependenciesList(): string[];
  getObject(): Parameters<typeof pulumi.runtime.deserializeProperties>[0];
  getCustom(): boolean;
  getProvider(): string;
  getAdditionalsecretoutputsList(): string[];
  getRetainondelete(): boolean;
}

export function registered(): readonly Registration[] {
  return registrations;
}
export function invokes(): readonly MockCall[] {
  return calls;
}

/** Forget what was recorded (between tests in one file). */
export function resetRecords(): void {
  registrations.length = 0;
  calls.length = 0;
}

/** The value of an Output (undefined when unknown). */
export function valueOf<T>(o: pulumi.Input<T> | undefined): Promise<T> {
  return new Promise((resolve) => pulumi.output(o as pulumi.Input<T>).apply((v) => resolve(v as T)));
}

/** Wait until every registration started so far has reached the fake engine. */
export async function settle(resources: readonly pulumi.Resource[] = []): Promise<void> {
  await Promise.all(resources.map((r) => valueOf(r.urn)));
  // Registrations hop through several promise turns; give late ones (apply, deferred dependsOn) time.
  for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
}

export function byName(name: string): Registration {
  const found = registrations.filter((r) => r.name === name);
  if (found.length !== 1) throw new Error(`expected one registration named ${name}, found ${found.length}: ${registrations.map((r) => r.name).join(', ')}`);
  return found[0];
}

/** The parent type chain and name encoded in a URN: `...::<types joined by $>::<name>`. */
export function urnParts(urn: string): { types: string[]; name: string } {
  const parts = urn.split('::');
  return { types: parts[2].split('$'), name: parts.slice(3).join('::') };
}
