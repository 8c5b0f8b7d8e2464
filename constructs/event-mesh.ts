import { ApiObject, Chart } from 'cdk8s';
import * as kplus from 'cdk8s-plus-27';
import { Construct } from 'constructs';
import {
  CHANNEL_KINDS, DEFAULT_INTEGRATION_NAMESPACE, DEFAULT_SYSTEM_NAMESPACE, PART_OF, PART_OF_LABEL,
  brokerIngressUrl, meshMermaid, natsUrl, type ChannelKind, type GraphObject, type MeshAddressing,
} from './api';
import { renderMeshCa, usesCertManager, type IssuerReference } from './adapter-auth';
import { Application, type ApplicationOptions } from './application';
import { InMemoryChannelBackend, type ChannelBackend } from './channel-backend';
import { makeClusterScoped } from './cluster-scoped';
import { EventMeshCrds, type EventMeshCrdsProps } from './crds';
import { Controller, type ControllerOptions } from './controller';
import { Dispatcher, type DispatcherOptions, type RoutingMode } from './dispatcher';
import { configError, shown } from './errors';
import type { HttpAdapterOptions } from './http-adapter';
import { KafkaChannel, type KafkaChannelOptions } from './kafka-channel';
import { Monitoring, type MonitoringOptions } from './monitoring';
import type { MeshContext } from './mesh-context';
import { NamespaceBinding } from './namespace-binding';
import { NatsJetStream, resolveStreamSettings, type NatsJetStreamOptions } from './nats-jetstream';
import { PubSubChannel, type PubSubChannelOptions } from './pubsub-channel';
import { requireDnsLabel } from './prop-checks';
import { resolveRuntimeImage, type ResolvedRuntimeImage, type RuntimeImageOptions } from './runtime-image';
import { requireLogLevel, type LogLevel, type RuntimeSettings } from './runtime-settings';
import { Trigger, type TriggerOptions } from './trigger';

/** A Trigger in EventMesh props: TriggerOptions plus the (required) name. */
export interface MeshTriggerOptions extends TriggerOptions {
  readonly name: string;
}

/**
 * Everything about the mesh, as plain JSON-serializable data (so a Pulumi component can take
 * it as its args). Every part has a default; override only what you need.
 */
export interface EventMeshProps {
  /** Namespaces and cluster domain. @default event-mesh-system, kyma-integration, cluster.local */
  readonly addressing?: MeshAddressing;
  /** Which CRDs to install. @default { knative: true, kyma: true } */
  readonly crds?: EventMeshCrdsProps;
  /**
   * Render the system and integration Namespaces (with the "restricted"/"baseline" Pod
   * Security labels). Turn off when they are created elsewhere.
   * @default true
   */
  readonly createNamespaces?: boolean;
  /** Channel implementation of the brokers and of applications that do not pick one. @default "nats" */
  readonly defaultChannel?: ChannelKind;
  /**
   * Channel kinds to deploy. Applications may only use these.
   * @default - defaultChannel, the kinds the `applications` use, "kafka" when `kafka` is set and "pubsub" when `pubsub` is set
   */
  readonly channels?: readonly ChannelKind[];
  /** NATS JetStream (deployed when "nats" is enabled). @default - see NatsJetStreamOptions */
  readonly nats?: NatsJetStreamOptions;
  /** Kafka channel (used when "kafka" is enabled). @default - Secret "knative-kafka" by reference, provider azure */
  readonly kafka?: KafkaChannelOptions;
  /**
   * Google Cloud Pub/Sub channel (required when "pubsub" is enabled): the project and the
   * credentials by reference (a Google service account for GKE Workload Identity, or a key Secret).
   * @default - none
   */
  readonly pubsub?: PubSubChannelOptions;
  /** The runtime image of adapters and dispatcher. @default ghcr.io/event-mesh/runtime:<package version> */
  readonly image?: RuntimeImageOptions;
  /** LOG_LEVEL of every runtime container. @default "info" */
  readonly logLevel?: LogLevel;
  /** The dispatcher (data plane). @default - see DispatcherOptions */
  readonly dataPlane?: DispatcherOptions;
  /** Prometheus scraping of the dispatcher (`{ serviceMonitor: true }`). @default - none */
  readonly monitoring?: MonitoringOptions;
  /**
   * Where the dispatcher's routing comes from: `cluster` (it watches the API server, so
   * Triggers applied with kubectl are routed) or `configmap` (the routing ConfigMap computed
   * from this App at synth time; rendered only in this mode).
   * @default "cluster"
   */
  readonly routing?: RoutingMode;
  /** `event-mesh controller` (dynamic wiring and status). @default - see ControllerOptions */
  readonly controller?: ControllerOptions;
  /** Defaults for every application's HTTP adapter, `auth` included. @default - see HttpAdapterOptions (auth mtls) */
  readonly adapters?: HttpAdapterOptions;
  /**
   * The cert-manager issuer of adapter and client certificates.
   * @default - a mesh CA rendered in the integration namespace (self-signed Issuer, CA Certificate, CA Issuer "event-mesh-ca")
   */
  readonly certificateIssuer?: IssuerReference;
  /** Namespaces to bind (Namespace + `default` Broker) even if no application sends to them. @default [] */
  readonly namespaces?: readonly string[];
  /** External applications to connect. @default [] */
  readonly applications?: readonly ApplicationOptions[];
  /** Triggers to create (more with addTrigger, or `new Trigger` anywhere in the App). @default [] */
  readonly triggers?: readonly MeshTriggerOptions[];
}

/**
 * The whole Event Mesh: CRDs, NATS JetStream and/or Kafka, the dispatcher (data plane; its
 * routing from the cluster, or from a routing ConfigMap), the controller (dynamic wiring and
 * status), and per application the Application, HTTPSource, adapter, Channel and
 * Subscriptions to the brokers of the namespaces it is bound to. Works in any Chart,
 * next to the user's own objects.
 */
export class EventMesh extends Construct implements MeshContext {
  public readonly addressing: Required<MeshAddressing>;
  public readonly image: ResolvedRuntimeImage;
  public readonly runtime: RuntimeSettings;
  public readonly defaultChannel: ChannelKind;
  public readonly adapterDefaults: HttpAdapterOptions;
  public readonly crds: EventMeshCrds;
  /** Undefined when no channel uses NATS. */
  public readonly nats?: NatsJetStream;
  /** Undefined when no channel uses Kafka. */
  public readonly kafka?: KafkaChannel;
  /** Undefined when no channel uses Pub/Sub. */
  public readonly pubsub?: PubSubChannel;
  public readonly dispatcher: Dispatcher;
  /** The ServiceMonitor and its NetworkPolicy, when `monitoring` is set. */
  public readonly monitoring?: Monitoring;
  /** Undefined when `controller.enabled` is false. */
  public readonly controller?: Controller;
  /** Enabled channel kinds. */
  public readonly channelKinds: readonly ChannelKind[];

  private readonly backends = new Map<ChannelKind, ChannelBackend>();
  private readonly bindings = new Map<string, NamespaceBinding>();
  private readonly apps = new Map<string, Application>();
  private readonly triggerScope: Construct;
  private readonly bindingScope: Construct;
  private readonly applicationScope: Construct;
  private readonly issuerProp?: IssuerReference;
  private issuer?: IssuerReference;

  constructor(scope: Construct, id: string, props: EventMeshProps = {}) {
    super(scope, id);
    const a = props.addressing ?? {};
    this.addressing = {
      systemNamespace: requireDnsLabel(this, 'addressing.systemNamespace', a.systemNamespace ?? DEFAULT_SYSTEM_NAMESPACE),
      integrationNamespace: requireDnsLabel(this, 'addressing.integrationNamespace', a.integrationNamespace ?? DEFAULT_INTEGRATION_NAMESPACE),
      clusterDomain: a.clusterDomain ?? 'cluster.local',
    };
    this.image = resolveRuntimeImage(props.image);
    const logLevel = requireLogLevel(this, props.logLevel ?? 'info');
    this.defaultChannel = this.requireKind(props.defaultChannel ?? 'nats', 'defaultChannel');
    this.adapterDefaults = props.adapters ?? {};
    this.issuerProp = props.certificateIssuer;
    this.channelKinds = this.enabledKinds(props);
    this.crds = new EventMeshCrds(this, 'Crds', props.crds);
    if (props.createNamespaces ?? true) this.renderSystemNamespaces();

    if (this.channelKinds.includes('nats')) {
      this.nats = new NatsJetStream(this, 'Nats', { ...props.nats, addressing: this.addressing });
      this.backends.set('nats', this.nats);
    }
    // The stream policy is NATS's (the seed's parameters), but the runtime applies it to every
    // channel kind, so it is resolved from the same props when NATS is not deployed.
    const streams = this.nats
      ? { maxAge: this.nats.streamMaxAge, maxInactivity: this.nats.channelMaxInactivity, replicas: this.nats.streamReplicas }
      : resolveStreamSettings(this, props.nats);
    this.runtime = { logLevel, streams };
    if (this.channelKinds.includes('kafka')) {
      this.kafka = new KafkaChannel(this, 'Kafka', {
        ...props.kafka,
        namespaces: [this.addressing.systemNamespace, this.addressing.integrationNamespace],
        retention: this.runtime.streams.maxAge,
      });
      this.backends.set('kafka', this.kafka);
    }
    if (this.channelKinds.includes('pubsub')) {
      if (!props.pubsub) {
        throw configError(this, 'channel "pubsub" is enabled but the pubsub prop is missing (no Google Cloud project)',
          'set pubsub: { project: "my-project", gcpServiceAccount: "event-mesh@my-project.iam.gserviceaccount.com" } (docs/constructs.md)');
      }
      this.pubsub = new PubSubChannel(this, 'PubSub', { ...props.pubsub, integrationNamespace: this.addressing.integrationNamespace });
      this.backends.set('pubsub', this.pubsub);
    }
    if (this.channelKinds.includes('inmemory')) this.backends.set('inmemory', new InMemoryChannelBackend());

    this.dispatcher = new Dispatcher(this, 'Dispatcher', {
      ...props.dataPlane,
      addressing: this.addressing,
      image: this.image,
      runtime: this.runtime,
      defaultChannel: this.defaultChannel,
      backends: [...this.backends.values()],
      routing: props.routing,
    });
    if (props.monitoring) {
      this.monitoring = new Monitoring(this, 'Monitoring', { ...props.monitoring, dispatcher: this.dispatcher, networkPolicy: props.dataPlane?.networkPolicy ?? true });
    }

    if (props.controller?.enabled ?? true) {
      const { enabled: _enabled, ...controllerOptions } = props.controller ?? {};
      this.controller = new Controller(this, 'Controller', {
        ...controllerOptions,
        addressing: this.addressing,
        image: this.image,
        runtime: this.runtime,
        meshSettings: controllerMeshSettings(props, this.channelKinds),
        knativeServing: props.adapters?.workload === 'knative-service'
          || (props.applications ?? []).some((app) => app.adapter?.workload === 'knative-service'),
      });
    }
    // Applications the controller renders later take their certificates from the mesh CA.
    if (this.controller && usesCertManager(this.adapterDefaults.auth)) this.certificateIssuer();

    this.bindingScope = new Construct(this, 'Namespaces');
    this.applicationScope = new Construct(this, 'Applications');
    this.triggerScope = new Construct(this, 'Triggers');
    for (const namespace of props.namespaces ?? []) this.bindNamespace(namespace);
    for (const app of props.applications ?? []) this.addApplication(app);
    for (const trigger of props.triggers ?? []) this.addTrigger(trigger);
  }

  /** Connect an external application. */
  public addApplication(options: ApplicationOptions): Application {
    if (this.apps.has(options.name)) {
      throw configError(this, `application "${options.name}" is defined twice`,
        'give every application a unique name (it names the Application, its adapter and its channel)');
    }
    const app = new Application(this.applicationScope, options.name, { ...options, mesh: this });
    this.apps.set(options.name, app);
    return app;
  }

  /** Add a Trigger; `namespace` defaults to "default", broker to "default". */
  public addTrigger(options: MeshTriggerOptions): Trigger {
    const namespace = options.namespace ?? 'default';
    const id = `${namespace}-${options.name}`;
    if (this.triggerScope.node.tryFindChild(id)) {
      throw configError(this, `trigger "${options.name}" in namespace "${namespace}" is defined twice`, 'give each trigger a unique name within its namespace');
    }
    return new Trigger(this.triggerScope, id, { ...options, namespace });
  }

  /** The namespace's Namespace + `default` Broker, created on first use and shared after. */
  public bindNamespace(namespace: string): NamespaceBinding {
    let binding = this.bindings.get(namespace);
    if (!binding) {
      binding = new NamespaceBinding(this.bindingScope, namespace, { namespace, addressing: this.addressing });
      this.bindings.set(namespace, binding);
    }
    return binding;
  }

  /** The issuer of adapter certificates; the mesh CA is rendered on first use. */
  public certificateIssuer(): IssuerReference {
    this.issuer ??= this.issuerProp ?? renderMeshCa(new Construct(this, 'CertificateAuthority'), this.addressing.integrationNamespace);
    return this.issuer;
  }

  public channelBackend(kind: ChannelKind, requestedBy: string): ChannelBackend {
    const backend = this.backends.get(kind);
    if (!backend) {
      throw configError(this, `${requestedBy} uses channel ${shown(kind)}, which this mesh does not deploy (enabled: ${this.channelKinds.join(', ')})`,
        `add "${kind}" to the EventMesh channels prop`);
    }
    return backend;
  }

  public get applications(): Application[] {
    return [...this.apps.values()];
  }

  /** Bound namespaces, in the order they were bound. */
  public get namespaces(): string[] {
    return [...this.bindings.keys()];
  }

  /** Application name → the URL it posts CloudEvents to (api/wiring adapterEventsUrl). */
  public get adapterUrls(): Record<string, string> {
    return Object.fromEntries(this.applications.map((app) => [app.name, app.eventsUrl]));
  }

  /** `<namespace>/<broker>` → that broker's ingress URL (api/wiring brokerIngressUrl). */
  public get brokerIngressUrls(): Record<string, string> {
    return Object.fromEntries([...this.bindings.values()].map((b) =>
      [`${b.namespace}/${b.broker.name}`, brokerIngressUrl(b.namespace, b.broker.name, this.addressing)]));
  }

  /** The NATS client URL, when NATS is deployed. */
  public get natsUrl(): string | undefined {
    return this.nats ? natsUrl(this.addressing) : undefined;
  }

  /**
   * The wiring of every chart in this App (applications, channels, brokers, Triggers with
   * their filters, subscribers, dead-letter sinks) as a Mermaid flowchart, for your docs.
   * The same drawing as `event-mesh graph` prints from the synthesized manifests.
   */
  public toMermaid(): string {
    const charts = this.node.root.node.findAll().filter((c): c is Chart => Chart.isChart(c));
    return meshMermaid(charts.flatMap((c) => c.toJson() as GraphObject[]));
  }

  private requireKind(kind: ChannelKind, field: string): ChannelKind {
    if (!CHANNEL_KINDS.includes(kind)) {
      throw configError(this, `${field} must be one of ${CHANNEL_KINDS.join(', ')}, got ${shown(kind)}`, 'pick one of those channel kinds');
    }
    return kind;
  }

  private enabledKinds(props: EventMeshProps): ChannelKind[] {
    const kinds = props.channels
      ? props.channels.map((k, i) => this.requireKind(k, `channels[${i}]`))
      : [
        ...(props.applications ?? []).map((app) => app.channel ?? this.defaultChannel),
        ...(props.kafka ? ['kafka' as const] : []),
        ...(props.pubsub ? ['pubsub' as const] : []),
      ];
    // Brokers store their events on the default channel: it is always deployed.
    return CHANNEL_KINDS.filter((k) => k === this.defaultChannel || kinds.includes(k));
  }

  private renderSystemNamespaces(): void {
    const { systemNamespace, integrationNamespace } = this.addressing;
    const render = (name: string, id: string, podSecurity: Record<string, string>) => {
      const ns = new kplus.Namespace(this, id, { metadata: { name, labels: { [PART_OF_LABEL]: PART_OF, ...podSecurity } } });
      makeClusterScoped(ApiObject.of(ns));
    };
    // Every mesh pod meets the "restricted" Pod Security Standard; enforce it where we can.
    render(systemNamespace, 'SystemNamespace', { 'pod-security.kubernetes.io/enforce': 'restricted' });
    if (integrationNamespace !== systemNamespace) {
      // Knative Service adapters get Knative's queue-proxy sidecar, which is only "baseline"
      // unless Knative's secure-pod-defaults is on: enforce baseline, warn about restricted.
      render(integrationNamespace, 'IntegrationNamespace', {
        'pod-security.kubernetes.io/enforce': 'baseline',
        'pod-security.kubernetes.io/warn': 'restricted',
      });
    }
  }
}

/**
 * The EventMesh props that shape an Application, for the controller's ConfigMap: what it
 * renders Applications created with kubectl with. Addressing comes from its env; a literal
 * Kafka Secret stays out (the adapters reference the Secret by name either way).
 */
export function controllerMeshSettings(props: EventMeshProps, channelKinds: readonly ChannelKind[]): Record<string, unknown> {
  const { insecureLiteralSecret: _secret, ...kafka } = props.kafka ?? {};
  return JSON.parse(JSON.stringify({
    image: props.image,
    logLevel: props.logLevel,
    defaultChannel: props.defaultChannel,
    channels: channelKinds,
    nats: props.nats,
    kafka: props.kafka ? kafka : undefined,
    pubsub: props.pubsub,
    adapters: props.adapters,
    certificateIssuer: props.certificateIssuer,
  })) as Record<string, unknown>;
}
