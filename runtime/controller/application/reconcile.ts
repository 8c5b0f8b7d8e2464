/**
 * Application (pure): the application's objects, exactly as the Application construct
 * renders them (render.ts), for the namespaces its ApplicationMappings bind, with owner
 * references to the Application so deleting it removes them. Bound namespaces get their
 * injection labels and, when missing, their `default` Broker (never owned, never applied
 * over). A Subscription this controller made for a mapping that is gone is deleted.
 */
import {
  APPLICATION_ADAPTER_ANNOTATION, APPLICATION_API_VERSION, APPLICATION_CHANNEL_ANNOTATION, APPLICATION_LABEL,
  KNATIVE_EVENTING_GROUP, KNATIVE_MESSAGING_GROUP, KYMA_APPLICATION_GROUP,
  type ChannelKind,
} from '../../../constructs/api';
import type { ApplicationEvent, ApplicationOptions } from '../../../constructs/application';
import type { HttpAdapterOptions } from '../../../constructs/http-adapter';
import type { ManifestObject } from '../../dispatcher/routing/manifests';
import { ConditionSet, type Condition } from '../conditions';
import { addressingOf, type ControllerContext } from '../context';
import { groupOf, refOf, type ObservedIndex, type ObservedObject, type OwnerReference } from '../objects';
import { emptyResult, type ReconcileResult } from '../result';
import { statusUpdate } from '../status';
import { APPLICATION_CONDITIONS, ApplicationReason } from './conditions';
import { renderApplication } from './render';

export interface ApplicationReconcile extends ReconcileResult {
  readonly set: ConditionSet;
}

/** Namespaces bound to `application` by live ApplicationMappings, sorted. */
export function boundNamespaces(application: string, index: ObservedIndex): string[] {
  return index.all(KYMA_APPLICATION_GROUP, 'ApplicationMapping')
    .filter((m) => m.metadata?.name === application && m.metadata?.namespace && !m.metadata.deletionTimestamp)
    .map((m) => m.metadata!.namespace as string)
    .sort();
}

/** The construct's input for an observed Application CR, or a message saying what is wrong. */
export function applicationOptions(app: ObservedObject, namespaces: readonly string[]): ApplicationOptions | string {
  const spec = (app.spec ?? {}) as { description?: unknown; labels?: unknown; events?: unknown };
  const annotations = app.metadata?.annotations ?? {};
  let adapter: HttpAdapterOptions | undefined;
  const adapterText = annotations[APPLICATION_ADAPTER_ANNOTATION];
  if (adapterText !== undefined) {
    try {
      adapter = JSON.parse(adapterText) as HttpAdapterOptions;
    } catch {
      return `annotation ${APPLICATION_ADAPTER_ANNOTATION} must be JSON of the adapter options, got ${JSON.stringify(adapterText)}`;
    }
    if (!adapter || typeof adapter !== 'object' || Array.isArray(adapter)) {
      return `annotation ${APPLICATION_ADAPTER_ANNOTATION} must be a JSON object, got ${JSON.stringify(adapterText)}`;
    }
  }
  const channel = annotations[APPLICATION_CHANNEL_ANNOTATION] as ChannelKind | undefined;
  const events = Array.isArray(spec.events)
    ? spec.events.filter((e): e is ApplicationEvent => !!e && typeof (e as ApplicationEvent).type === 'string')
      .map((e) => ({ type: e.type, ...(e.version !== undefined ? { version: e.version } : {}), ...(e.description !== undefined ? { description: e.description } : {}) }))
    : [];
  const labels = spec.labels && typeof spec.labels === 'object' && !Array.isArray(spec.labels) ? spec.labels as Record<string, string> : undefined;
  return {
    name: app.metadata?.name ?? '',
    namespaces: [...namespaces],
    ...(channel !== undefined ? { channel } : {}),
    ...(typeof spec.description === 'string' && spec.description ? { description: spec.description } : {}),
    ...(labels ? { labels } : {}),
    ...(events.length ? { events } : {}),
    ...(adapter ? { adapter } : {}),
  };
}

export function ownerReferenceTo(app: ObservedObject): OwnerReference | undefined {
  const uid = app.metadata?.uid;
  if (!uid) return undefined;
  return { apiVersion: APPLICATION_API_VERSION, kind: 'Application', name: app.metadata?.name ?? '', uid, controller: true, blockOwnerDeletion: true };
}

function withOwner(obj: ManifestObject, owner: OwnerReference | undefined): ManifestObject {
  if (!owner) return obj;
  return { ...obj, metadata: { ...obj.metadata, ownerReferences: [owner] } as ManifestObject['metadata'] };
}

function ownedBy(obj: ObservedObject, app: ObservedObject): boolean {
  return (obj.metadata?.ownerReferences ?? []).some((o) => o.kind === 'Application' && groupOf(o.apiVersion) === KYMA_APPLICATION_GROUP
    && o.name === app.metadata?.name && (!app.metadata?.uid || o.uid === app.metadata.uid));
}

export function reconcileApplication(
  app: ObservedObject,
  index: ObservedIndex,
  ctx: ControllerContext,
  /** Ready of each HTTPSource as computed in this pass, by `namespace/name`. */
  sourceReady: ReadonlyMap<string, Condition> = new Map(),
): ApplicationReconcile {
  const result = emptyResult();
  const set = new ConditionSet(APPLICATION_CONDITIONS, app.status, ctx.now);
  const name = app.metadata?.name ?? '';
  const integration = addressingOf(ctx).integrationNamespace;
  const finish = () => {
    result.status.push(statusUpdate(app, set));
    return { ...result, set };
  };
  if (app.metadata?.deletionTimestamp) return { ...result, set };

  const options = applicationOptions(app, boundNamespaces(name, index));
  if (typeof options === 'string') {
    set.markFalse('Rendered', ApplicationReason.InvalidApplication, options)
      .markUnknown('SourceReady', ApplicationReason.InvalidApplication, 'not rendered');
    return finish();
  }
  let rendered;
  try {
    rendered = renderApplication(options, ctx.mesh);
  } catch (err) {
    set.markFalse('Rendered', ApplicationReason.InvalidApplication, (err as Error).message)
      .markUnknown('SourceReady', ApplicationReason.InvalidApplication, 'not rendered');
    return finish();
  }
  set.markTrue('Rendered');

  const owner = ownerReferenceTo(app);
  for (const obj of rendered.objects) result.apply.push(withOwner(obj, owner));
  for (const binding of rendered.bindings) {
    for (const obj of binding.objects) {
      // The default Broker is only ever created (sugar/namespace semantics): never applied over.
      if (obj.kind === 'Broker' && index.get(KNATIVE_EVENTING_GROUP, 'Broker', obj.metadata?.namespace, obj.metadata?.name ?? '')) continue;
      result.apply.push(obj);
    }
  }

  const wanted = new Set(rendered.objects.filter((o) => o.kind === 'Subscription').map((o) => o.metadata?.name));
  for (const sub of index.all(KNATIVE_MESSAGING_GROUP, 'Subscription')) {
    if (sub.metadata?.namespace !== integration || sub.metadata?.labels?.[APPLICATION_LABEL] !== name) continue;
    if (wanted.has(sub.metadata?.name) || !ownedBy(sub, app)) continue;
    result.delete.push(refOf(sub));
  }

  const source = rendered.objects.find((o) => o.kind === 'HTTPSource');
  const ready = source ? sourceReady.get(`${source.metadata?.namespace}/${source.metadata?.name}`) : undefined;
  set.propagate('SourceReady', ready, { reason: ApplicationReason.SourceNotReady, message: 'the HTTPSource has no status yet' });
  if (ready && ready.status !== 'True') {
    set.markFalse('SourceReady', ApplicationReason.SourceNotReady, `HTTPSource ${name}: ${ready.reason ?? ''}${ready.message ? ` (${ready.message})` : ''}`);
  }
  return finish();
}
