/**
 * The Kyma CRDs the mesh keeps compatible: HTTPSource (an external application's event
 * source), Application (the external system itself, cluster-scoped as in Kyma) and
 * ApplicationMapping (Kyma 1.x's binding of an Application to a namespace).
 */
import { Construct } from 'constructs';
import { APPLICATION_API_VERSION, APPLICATION_MAPPING_API_VERSION, HTTP_SOURCE_API_VERSION, KYMA_APPLICATION_GROUP, KYMA_SOURCES_GROUP, SOURCE_LABEL } from './api';
import { AGE_COLUMN, CustomResourceDefinition, READY_COLUMNS } from './custom-resource-definition';
import { arr, bool, knativeStatus, obj, str, stringMap } from './json-schema';

const version = (apiVersion: string) => apiVersion.split('/')[1];

export class HttpSourceCrd extends CustomResourceDefinition {
  constructor(scope: Construct, id: string) {
    super(scope, id, {
      group: KYMA_SOURCES_GROUP,
      version: version(HTTP_SOURCE_API_VERSION),
      kind: 'HTTPSource',
      plural: 'httpsources',
      categories: ['all', 'knative', 'sources'],
      // Knative discovers event sources by these labels (the first is the older spelling).
      labels: { [SOURCE_LABEL]: 'true', 'duck.knative.dev/source': 'true' },
      printerColumns: [...READY_COLUMNS, { name: 'SINK', type: 'string', jsonPath: '.status.sinkUri', priority: 1 }, AGE_COLUMN],
      schema: obj('HTTPSource: an HTTP endpoint an external application sends CloudEvents to.', {
        apiVersion: str('API version of this object.'),
        kind: str('Kind of this object.'),
        metadata: { type: 'object' },
        spec: obj('Desired state.', {
          source: str('Human-readable name of the application that sends the events; becomes the CloudEvents source.', { minLength: 1 }),
        }, ['source']),
        status: knativeStatus({
          sinkUri: str('The resolved URI events are forwarded to.'),
        }),
      }, ['spec']),
    });
  }
}

export class ApplicationCrd extends CustomResourceDefinition {
  constructor(scope: Construct, id: string) {
    const entry = obj('One API or event catalogue the service exposes.', {
      type: str('What the entry describes.', { enum: ['API', 'Events'] }),
      targetUrl: str('Where the API is served.'),
      specificationUrl: str('Where its specification (OpenAPI, AsyncAPI) can be fetched.'),
      apiType: str('Kind of API, e.g. OData.'),
      gatewayUrl: str('The in-cluster URL that proxies to targetUrl.'),
      centralGatewayUrl: str('The central gateway URL that proxies to targetUrl.'),
      accessLabel: str('Label granting access to this entry.'),
      id: str('Identifier of the entry.'),
      name: str('Name of the entry.'),
    }, ['type']);
    super(scope, id, {
      group: KYMA_APPLICATION_GROUP,
      version: version(APPLICATION_API_VERSION),
      kind: 'Application',
      plural: 'applications',
      shortNames: ['app'],
      scope: 'Cluster',
      printerColumns: [...READY_COLUMNS, AGE_COLUMN],
      schema: obj('Application: an external system connected to the cluster, and the events it sends.', {
        apiVersion: str('API version of this object.'),
        kind: str('Kind of this object.'),
        metadata: { type: 'object' },
        spec: obj('Desired state.', {
          description: str('What the application is.'),
          displayName: str('Name to show in user interfaces.'),
          providerDisplayName: str('Who provides the application.'),
          skipInstallation: bool('Register the application without deploying its gateway.'),
          accessLabel: str('Label granting access to the application.'),
          tenant: str('Tenant the application belongs to.'),
          group: str('Group the application belongs to.'),
          labels: stringMap('Labels describing the application.'),
          tags: arr('Free-form tags.', str('A tag.')),
          services: arr('Services (APIs and event catalogues) the application offers, as in Kyma.', obj('One service of the application.', {
            id: str('Unique identifier of the service.', { minLength: 1 }),
            name: str('Name of the service.', { minLength: 1 }),
            displayName: str('Name to show in user interfaces.'),
            description: str('What the service offers.'),
            providerDisplayName: str('Who provides the service.'),
            longDescription: str('Longer description.'),
            identifier: str('External identifier.'),
            labels: stringMap('Labels of the service.'),
            tags: arr('Free-form tags.', str('A tag.')),
            entries: arr('APIs and event catalogues of the service.', entry),
          }, ['id', 'name'])),
          events: arr('The CloudEvents types the application sends (event-mesh extension).', obj('One event type.', {
            type: str('CloudEvents type, e.g. user.created.', { minLength: 1 }),
            version: str('Event type version, sent as the eventtypeversion extension, e.g. v1.', { minLength: 1 }),
            description: str('What the event means.'),
          }, ['type'])),
        }),
        status: knativeStatus({
          installationStatus: obj('Status of the application\'s installation.', {
            status: str('Installation state.'),
            description: str('Details.'),
          }),
        }),
      }),
    });
  }
}

/**
 * `ApplicationMapping`: created in a namespace and named after an Application, it binds the
 * application to that namespace (the namespace gets a `default` Broker and a Subscription
 * from the application's channel), as Kyma 1.x did without Service Catalog.
 */
export class ApplicationMappingCrd extends CustomResourceDefinition {
  constructor(scope: Construct, id: string) {
    super(scope, id, {
      group: KYMA_APPLICATION_GROUP,
      version: version(APPLICATION_MAPPING_API_VERSION),
      kind: 'ApplicationMapping',
      plural: 'applicationmappings',
      shortNames: ['am'],
      printerColumns: [
        ...READY_COLUMNS,
        { name: 'BROKER', type: 'string', jsonPath: '.status.brokerUri', priority: 1 },
        AGE_COLUMN,
      ],
      schema: obj('ApplicationMapping: binds the Application of the same name to this namespace.', {
        apiVersion: str('API version of this object.'),
        kind: str('Kind of this object.'),
        metadata: { type: 'object' },
        spec: obj('Desired state (the binding is the object itself).', {
          services: arr('Services of the application to enable (Kyma 1.x field; every event is delivered either way).', obj('One service.', {
            id: str('The service id.', { minLength: 1 }),
          }, ['id'])),
        }),
        status: knativeStatus({
          brokerUri: str('Ingress URL of the namespace\'s default Broker the application\'s events reach.'),
        }),
      }),
    });
  }
}
