/** The HTTPSource's condition set and reasons (pure constants). */
export const HTTP_SOURCE_CONDITIONS = ['SinkProvided', 'Deployed', 'ServiceCreated'] as const;

export const HttpSourceReason = {
  /** spec.source is empty. */
  InvalidSpec: 'InvalidSpec',
  /** The Channel the adapter publishes to does not exist. */
  SinkNotFound: 'SinkNotFound',
  /** The adapter's Deployment (or Knative Service) does not exist. */
  DeploymentNotFound: 'DeploymentNotFound',
  /** The adapter's Deployment exists but has no available replica. */
  DeploymentUnavailable: 'DeploymentUnavailable',
  /** The adapter's Service does not exist. */
  ServiceNotFound: 'ServiceNotFound',
  /** The adapter's Knative Service is not Ready (as in the seed's troubleshooting page). */
  ServiceNotReady: 'ServiceNotReady',
} as const;
