import { ApiObject, Chart, JsonPatch } from 'cdk8s';

/**
 * cdk8s stamps the chart's namespace on every object; for a cluster-scoped kind (CRD,
 * Namespace, ClusterRole, Application) that namespace is wrong and some tools reject it.
 */
export function makeClusterScoped(apiObject: ApiObject): void {
  if (Chart.of(apiObject).namespace !== undefined) {
    apiObject.addJsonPatch(JsonPatch.remove('/metadata/namespace'));
  }
}
