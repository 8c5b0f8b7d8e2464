/**
 * What validation looks up across the whole cdk8s App, indexed once per synthesis pass
 * instead of walking the construct tree once per object (which made synthesis quadratic in
 * the number of Triggers). Pure apart from the per-pass cache.
 *
 * cdk8s validates in one synchronous pass over the tree in pre-order, the App first. The
 * first lookup registers a validation on the App that drops the index, so every pass starts
 * without one, its first lookup builds it and the rest of the pass shares it; constructs added
 * between two syntheses are always seen. The index is also dropped in a microtask, for
 * lookups outside a synthesis (a construct's own node.validate()).
 */
import { ApiObject } from 'cdk8s';
import type { IConstruct } from 'constructs';
import { BROKER_API_VERSION } from './api';

export interface BrokerRef {
  readonly namespace: string;
  readonly name: string;
}

export interface AppIndex {
  /** Names of the Broker objects in each namespace, whichever construct made them, in tree order. */
  readonly brokersByNamespace: ReadonlyMap<string, readonly string[]>;
}

const cache = new WeakMap<IConstruct, AppIndex>();
const hooked = new WeakSet<IConstruct>();

/** The index of the App `scope` belongs to (one tree walk per synthesis pass). */
export function appIndexOf(scope: IConstruct): AppIndex {
  const root = scope.node.root;
  if (!hooked.has(root)) {
    hooked.add(root);
    root.node.addValidation({
      validate: () => {
        cache.delete(root);
        return [];
      },
    });
  }
  let index = cache.get(root);
  if (!index) {
    index = buildAppIndex(root);
    cache.set(root, index);
    queueMicrotask(() => cache.delete(root));
  }
  return index;
}

/** Walk the tree under `root` once. */
export function buildAppIndex(root: IConstruct): AppIndex {
  const brokersByNamespace = new Map<string, string[]>();
  for (const c of root.node.findAll()) {
    if (!ApiObject.isApiObject(c) || c.kind !== 'Broker' || c.apiVersion !== BROKER_API_VERSION) continue;
    const namespace = c.metadata.namespace ?? 'default';
    let names = brokersByNamespace.get(namespace);
    if (!names) brokersByNamespace.set(namespace, (names = []));
    names.push(c.name);
  }
  return { brokersByNamespace };
}
