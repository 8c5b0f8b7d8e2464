/**
 * An Application's objects, rendered by the `Application` construct itself (pure apart from
 * CPU; writes nothing). The controller keeps no copy of the wiring: it synthesizes an
 * EventMesh in memory with the controller's mesh settings and this one application, exactly
 * as the Pulumi component does, and takes the objects the Application construct (and the
 * bindings of its namespaces) rendered.
 */
import { ApiObject } from 'cdk8s';
import type { IConstruct } from 'constructs';
import type { ApplicationOptions } from '../../../constructs/application';
import { EventMesh } from '../../../constructs/event-mesh';
import { synthesizeInMemory } from '../../../constructs/in-memory-synth';
import { stableJson } from '../../dispatcher/routing/table';
import type { ManifestObject } from '../../dispatcher/routing/manifests';
import type { ControllerMeshSettings } from '../context';

export interface RenderedBinding {
  readonly namespace: string;
  /** The labelled Namespace and its `default` Broker, as the construct renders them. */
  readonly objects: ManifestObject[];
}

export interface RenderedApplication {
  /** The Application construct's objects except the Application CR itself (the input). */
  readonly objects: ManifestObject[];
  /** Per bound namespace, in the order bound. */
  readonly bindings: RenderedBinding[];
}

/** The chart and construct ids the controller renders under. */
export const RENDER_CHART_ID = 'event-mesh-controller';
export const RENDER_MESH_ID = 'EventMesh';

const MEMO_LIMIT = 512;
const memo = new Map<string, RenderedApplication | Error>();

function objectsUnder(scope: IConstruct): ManifestObject[] {
  return scope.node.findAll()
    .filter((c): c is ApiObject => ApiObject.isApiObject(c))
    .map((o) => JSON.parse(JSON.stringify(o.toJson())) as ManifestObject);
}

function renderUncached(app: ApplicationOptions, mesh: ControllerMeshSettings): RenderedApplication {
  const { built } = synthesizeInMemory(RENDER_CHART_ID, (chart) => {
    const eventMesh = new EventMesh(chart, RENDER_MESH_ID, {
      ...mesh,
      // The kinds the mesh deploys: an application may not switch a channel on by itself.
      channels: mesh.channels ?? [mesh.defaultChannel ?? 'nats'],
      createNamespaces: false,
      crds: { knative: false, kyma: false },
      controller: { enabled: false },
      applications: [app],
    });
    return { eventMesh, application: eventMesh.applications[0] };
  });
  const objects = objectsUnder(built.application)
    .filter((o) => o.kind !== 'Application');
  const bindings = (app.namespaces ?? []).map((namespace) => ({
    namespace,
    objects: objectsUnder(built.eventMesh.bindNamespace(namespace)),
  }));
  return { objects, bindings };
}

/**
 * The objects the Application construct renders for `app` in a mesh with `mesh` settings.
 * Throws the construct's own error (with the fix) for an application it rejects. Results
 * are memoized by input, so an unchanged application costs no synthesis on the next pass.
 */
export function renderApplication(app: ApplicationOptions, mesh: ControllerMeshSettings = {}): RenderedApplication {
  const key = stableJson({ app, mesh });
  let result = memo.get(key);
  if (!result) {
    try {
      result = renderUncached(app, mesh);
    } catch (err) {
      result = err instanceof Error ? err : new Error(String(err));
    }
    if (memo.size >= MEMO_LIMIT) memo.delete(memo.keys().next().value as string);
    memo.set(key, result);
  }
  if (result instanceof Error) throw result;
  return structuredClone(result);
}
