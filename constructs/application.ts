import { ApiObject } from 'cdk8s';
import { Construct } from 'constructs';
import {
  APPLICATION_ADAPTER_ANNOTATION, APPLICATION_API_VERSION, APPLICATION_CHANNEL_ANNOTATION, APPLICATION_LABEL, CHANNEL_KINDS,
  adapterEventsUrl, applicationChannelName, applicationSubscriptionName, type ChannelKind,
} from './api';
import type { AdapterAuthOptions } from './adapter-auth';
import { Channel } from './channel';
import { makeClusterScoped } from './cluster-scoped';
import { configError, shown } from './errors';
import { HttpAdapter, type HttpAdapterOptions } from './http-adapter';
import { HttpSource } from './http-source';
import type { MeshContext } from './mesh-context';
import { meshLabels } from './mesh-labels';
import type { NamespaceBinding } from './namespace-binding';
import { Sink } from './sink';
import { Subscription } from './subscription';

/** One event type an application sends. */
export interface ApplicationEvent {
  /** CloudEvents type, e.g. `user.created`. */
  readonly type: string;
  /** Sent as the `eventtypeversion` extension. @default - unversioned */
  readonly version?: string;
  /** @default - none */
  readonly description?: string;
}

/** An external application, as plain data (EventMesh `applications` entries). */
export interface ApplicationOptions {
  /** Name of the application; also its CloudEvents `source`, channel and adapter name. */
  readonly name: string;
  /** Namespaces that receive its events (each gets a labelled Namespace and a `default` Broker). @default [] */
  readonly namespaces?: readonly string[];
  /** Channel implementation for this application's events. @default - the mesh's defaultChannel */
  readonly channel?: ChannelKind;
  /** @default - none */
  readonly description?: string;
  /** Labels in the Application's spec (not metadata). @default - none */
  readonly labels?: Readonly<Record<string, string>>;
  /** The events it offers, listed in the Application CR. @default [] */
  readonly events?: readonly ApplicationEvent[];
  /** Overrides the mesh's adapter defaults for this application. @default - the mesh's `adapters` */
  readonly adapter?: HttpAdapterOptions;
  /**
   * How the application's clients authenticate at its adapter (same as `adapter.auth`).
   * @default - the mesh's `adapters.auth`, else { mode: 'mtls' }
   */
  readonly auth?: AdapterAuthOptions;
}

export interface ApplicationProps extends ApplicationOptions {
  /** The mesh the application joins (an EventMesh). */
  readonly mesh: MeshContext;
}

/** Service names (the adapter's) must start with a letter and, with "-adapter", fit in 63 characters. */
const APPLICATION_NAME = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
const MAX_APPLICATION_NAME = 63 - '-adapter'.length;

/**
 * An external application connected to the mesh, wired the way Kyma's Application Operator,
 * Event Source Controller and Application Broker did it: the Application CR, its HTTPSource,
 * the HTTP adapter, its Channel in the integration namespace, and one Subscription per bound
 * namespace from that Channel to the namespace's `default` Broker.
 */
export class Application extends Construct {
  public readonly name: string;
  public readonly channelKind: ChannelKind;
  /** Where the external application posts CloudEvents. */
  public readonly eventsUrl: string;
  public readonly channel: Channel;
  public readonly adapter: HttpAdapter;
  public readonly resource: ApiObject;
  private readonly mesh: MeshContext;
  private readonly bindings = new Map<string, Subscription>();

  constructor(scope: Construct, id: string, props: ApplicationProps) {
    super(scope, id);
    this.mesh = props.mesh;
    this.name = props.name;
    if (typeof this.name !== 'string' || !APPLICATION_NAME.test(this.name) || this.name.length > MAX_APPLICATION_NAME) {
      throw configError(this, `application name must start with a letter, use lower-case letters, digits and "-", and have at most ${MAX_APPLICATION_NAME} characters, got ${shown(this.name)}`,
        'rename the application (it names its adapter Service, channel and CloudEvents source)');
    }
    this.channelKind = props.channel ?? this.mesh.defaultChannel;
    if (!CHANNEL_KINDS.includes(this.channelKind)) {
      throw configError(this, `application "${this.name}" channel must be one of ${CHANNEL_KINDS.join(', ')}, got ${shown(this.channelKind)}`, 'pick one of those kinds');
    }
    const backend = this.mesh.channelBackend(this.channelKind, `application "${this.name}"`);
    const integration = this.mesh.addressing.integrationNamespace;
    const appLabels = { [APPLICATION_LABEL]: this.name };

    // What the CR's spec cannot say goes into annotations, so the controller renders the same adapter.
    const annotations: Record<string, string> = {
      ...(props.channel !== undefined ? { [APPLICATION_CHANNEL_ANNOTATION]: props.channel } : {}),
      ...(props.adapter !== undefined ? { [APPLICATION_ADAPTER_ANNOTATION]: JSON.stringify(props.adapter) } : {}),
    };
    this.resource = new ApiObject(this, 'Resource', {
      apiVersion: APPLICATION_API_VERSION,
      kind: 'Application',
      metadata: {
        name: this.name,
        labels: meshLabels(this.name, 'application', appLabels),
        ...(Object.keys(annotations).length ? { annotations } : {}),
      },
      spec: {
        ...(props.description ? { description: props.description } : {}),
        ...(props.labels ? { labels: { ...props.labels } } : {}),
        ...(props.events?.length ? { events: props.events.map((e) => ({ ...e })) } : {}),
      },
    });
    makeClusterScoped(this.resource);

    new HttpSource(this, 'Source', { name: this.name, namespace: integration, source: this.name, labels: appLabels });

    this.channel = new Channel(this, 'Channel', {
      name: applicationChannelName(this.name),
      namespace: integration,
      kind: backend.kind,
      channelTemplate: backend.channelTemplate,
      labels: appLabels,
    });

    this.adapter = new HttpAdapter(this, 'Adapter', {
      ...this.mesh.adapterDefaults,
      ...props.adapter,
      auth: props.auth ?? props.adapter?.auth ?? this.mesh.adapterDefaults.auth,
      application: this.name,
      namespace: integration,
      clusterDomain: this.mesh.addressing.clusterDomain,
      issuer: this.mesh.certificateIssuer ? () => this.mesh.certificateIssuer!() : undefined,
      channel: backend,
      image: this.mesh.image,
      runtime: this.mesh.runtime,
    });

    this.eventsUrl = adapterEventsUrl(this.name, this.mesh.addressing, this.adapter.auth.tls);

    for (const namespace of props.namespaces ?? []) this.bindNamespace(namespace);
  }

  /** Namespaces this application's events reach. */
  public get namespaces(): string[] {
    return [...this.bindings.keys()];
  }

  /**
   * Deliver this application's events to `namespace`: binds the namespace (Namespace and
   * `default` Broker, shared with other applications) and subscribes the broker to the
   * application's channel.
   */
  public bindNamespace(namespace: string): NamespaceBinding {
    if (this.bindings.has(namespace)) {
      throw configError(this, `application "${this.name}" is bound to namespace "${namespace}" twice`,
        'list each namespace once (in namespaces or bindNamespace calls)');
    }
    const binding = this.mesh.bindNamespace(namespace);
    const broker = binding.broker;
    const subscription = new Subscription(this, `Subscription-${namespace}`, {
      name: applicationSubscriptionName(this.name, namespace, broker.name),
      namespace: this.mesh.addressing.integrationNamespace,
      channel: this.channel.name,
      subscriber: Sink.broker(broker.name, { namespace }),
      labels: { [APPLICATION_LABEL]: this.name },
    });
    this.bindings.set(namespace, subscription);
    return binding;
  }
}
