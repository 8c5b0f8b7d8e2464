/**
 * The Event Mesh as a Pulumi component: it synthesizes the cdk8s `EventMesh` construct in
 * memory and deploys exactly those objects, one @pulumi/kubernetes resource each. The
 * construct is the only place the mesh's wiring is decided; this component adds ordering
 * (CRDs → Namespaces → the rest), a provider, and outputs.
 *
 * Why the props are plain values and not `pulumi.Input`s: object names, URLs, channel topics
 * and even the set of objects depend on them, and Pulumi needs to know the resources a
 * program declares when it plans (preview). Synthesizing inside `apply` would declare
 * resources only once values are known — they would be missing from previews, and their
 * deletions would be planned wrong. Secrets, which are the values that are really only
 * known at deploy time, never enter the manifests: the Kafka channel references the Secret
 * by name, and `EventHubsKafka` creates it.
 */
import * as pulumi from '@pulumi/pulumi';
import * as k8s from '@pulumi/kubernetes';
import { EventMesh as EventMeshConstruct, type EventMeshProps } from '../constructs/event-mesh';
import { BROKER_API_VERSION, parseIsoDuration, type ChannelKind, type MeshAddressing } from '../constructs/api';
import { deployObjects, type DeployedObject, type KubeObject } from './kubernetes-objects';
import { synthesizeInMemory } from '../constructs/in-memory-synth';

/** The chart and construct ids the component synthesizes under (they are part of cdk8s' generated names). */
export const MESH_CHART_ID = 'event-mesh';
export const MESH_CONSTRUCT_ID = 'EventMesh';

export interface EventMeshArgs extends EventMeshProps {
  /** The cluster to deploy to. @default - the component's / the stack's default provider */
  readonly provider?: k8s.Provider;
  /**
   * Resources every object except the CRDs and Namespaces waits for: typically the Kafka
   * connection Secrets, which live in Namespaces this mesh creates and which the mesh's pods
   * need before they can start. May be a Promise or Output of the list.
   */
  readonly workloadDependsOn?: pulumi.Input<pulumi.Input<pulumi.Resource>[]>;
}

/** What the construct synthesizes for `props`, plus its wiring (URLs). Throws what the construct throws. */
export interface SynthesizedEventMesh {
  readonly objects: KubeObject[];
  readonly adapterUrls: Record<string, string>;
  readonly brokerIngressUrls: Record<string, string>;
  readonly addressing: Required<MeshAddressing>;
  readonly channelKinds: readonly ChannelKind[];
  readonly natsUrl?: string;
  readonly defaultChannel: ChannelKind;
  /** Brokers (`Broker` objects) in the synthesized chart. */
  readonly brokers: readonly { readonly namespace: string; readonly name: string }[];
  /** The Kafka channel, when deployed: its Secret, who uses it, and its topic settings. */
  readonly kafka?: {
    readonly secretName: string;
    /** Applications whose channel is Kafka. */
    readonly applications: readonly string[];
    /** Brokers whose events are stored on Kafka (all of them when Kafka is the default channel). */
    readonly brokers: readonly { readonly namespace: string; readonly name: string }[];
    /** Partitions per topic, from the KafkaChannel template. */
    readonly numPartitions?: number;
    /** Topic retention in milliseconds, from the KafkaChannel template. */
    readonly retentionMs?: number;
  };
}

export function synthesizeEventMesh(props: EventMeshProps): SynthesizedEventMesh {
  const { built: mesh, objects } = synthesizeInMemory(MESH_CHART_ID, (chart) => new EventMeshConstruct(chart, MESH_CONSTRUCT_ID, props));
  const brokers = objects
    .filter((o) => o.apiVersion === BROKER_API_VERSION && o.kind === 'Broker')
    .map((o) => ({ namespace: o.metadata.namespace ?? 'default', name: o.metadata.name }));
  const kafkaSpec = mesh.kafka?.channelTemplate.spec as { numPartitions?: unknown; retentionDuration?: unknown } | undefined;
  return {
    objects,
    adapterUrls: mesh.adapterUrls,
    brokerIngressUrls: mesh.brokerIngressUrls,
    addressing: mesh.addressing,
    channelKinds: mesh.channelKinds,
    natsUrl: mesh.natsUrl,
    defaultChannel: mesh.defaultChannel,
    brokers,
    kafka: mesh.kafka && {
      secretName: mesh.kafka.secretName,
      applications: mesh.applications.filter((app) => app.channelKind === 'kafka').map((app) => app.name),
      brokers: mesh.defaultChannel === 'kafka' ? brokers : [],
      numPartitions: typeof kafkaSpec?.numPartitions === 'number' ? kafkaSpec.numPartitions : undefined,
      retentionMs: typeof kafkaSpec?.retentionDuration === 'string' ? parseIsoDuration(kafkaSpec.retentionDuration) : undefined,
    },
  };
}

function propsOf(args: EventMeshArgs): EventMeshProps {
  const { provider: _provider, workloadDependsOn: _workloadDependsOn, ...props } = args;
  return props;
}

export class EventMesh extends pulumi.ComponentResource {
  /** Application name → the URL it posts CloudEvents to. */
  readonly adapterUrls: pulumi.Output<Record<string, string>>;
  /** `<namespace>/<broker>` → that broker's ingress URL. */
  readonly brokerIngressUrls: pulumi.Output<Record<string, string>>;
  /** The NATS client URL, when NATS is deployed. */
  readonly natsUrl: pulumi.Output<string | undefined>;
  /** The objects the construct synthesized, as handed to Kubernetes. */
  readonly objects: readonly KubeObject[];
  /** One entry per object: its resource and what it was made to wait for. */
  readonly deployed: readonly DeployedObject[];
  /** Namespace name → the Namespace resource, for the Namespaces this mesh creates. */
  readonly namespaceResources: Readonly<Record<string, pulumi.CustomResource>>;
  readonly crdResources: readonly pulumi.CustomResource[];
  readonly addressing: Required<MeshAddressing>;
  readonly channelKinds: readonly ChannelKind[];

  constructor(name: string, args: EventMeshArgs, opts?: pulumi.ComponentResourceOptions) {
    super('event-mesh:index:EventMesh', name, {}, opts);

    let synth: SynthesizedEventMesh;
    try {
      synth = synthesizeEventMesh(propsOf(args));
    } catch (err) {
      // The construct's checks say what is wrong and how to fix it; report them on this resource.
      throw new pulumi.ResourceError(`EventMesh "${name}": ${err instanceof Error ? err.message : String(err)}`, this);
    }

    this.objects = synth.objects;
    this.addressing = synth.addressing;
    this.channelKinds = synth.channelKinds;
    this.deployed = deployObjects(synth.objects, {
      parent: this,
      provider: args.provider,
      namePrefix: name,
      workloadDependsOn: args.workloadDependsOn,
    });
    this.namespaceResources = Object.fromEntries(this.deployed.filter((d) => d.phase === 'namespace').map((d) => [d.object.metadata.name, d.resource]));
    this.crdResources = this.deployed.filter((d) => d.phase === 'crd').map((d) => d.resource);

    this.adapterUrls = pulumi.output(synth.adapterUrls);
    this.brokerIngressUrls = pulumi.output(synth.brokerIngressUrls);
    this.natsUrl = pulumi.output(synth.natsUrl);
    this.registerOutputs({
      adapterUrls: this.adapterUrls,
      brokerIngressUrls: this.brokerIngressUrls,
      natsUrl: this.natsUrl,
    });
  }
}
