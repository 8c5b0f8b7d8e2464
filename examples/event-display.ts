import { Size } from 'cdk8s';
import * as kplus from 'cdk8s-plus-27';
import { Construct } from 'constructs';

export const EVENT_DISPLAY_IMAGE = 'gcr.io/knative-releases/knative.dev/eventing/cmd/event_display';

export interface EventDisplayProps {
  readonly name: string;
  readonly namespace: string;
  /** @default Knative's event_display sample image */
  readonly image?: string;
}

/**
 * A stand-in subscriber for the examples: Knative's `event_display` (logs every CloudEvent
 * it receives) as a Deployment and a Service on port 80, which is what a Trigger's
 * `Sink.service(name)` addresses.
 */
export class EventDisplay extends Construct {
  constructor(scope: Construct, id: string, props: EventDisplayProps) {
    super(scope, id);
    const deployment = new kplus.Deployment(this, 'Resource', {
      metadata: { name: props.name, namespace: props.namespace },
      replicas: 1,
      containers: [{
        name: 'event-display',
        image: props.image ?? EVENT_DISPLAY_IMAGE,
        imagePullPolicy: kplus.ImagePullPolicy.IF_NOT_PRESENT,
        portNumber: 8080,
        securityContext: { user: 65532, group: 65532 },
        resources: {
          cpu: { request: kplus.Cpu.millis(10), limit: kplus.Cpu.millis(100) },
          memory: { request: Size.mebibytes(16), limit: Size.mebibytes(64) },
        },
      }],
    });
    new kplus.Service(this, 'Service', {
      metadata: { name: props.name, namespace: props.namespace },
      selector: deployment,
      ports: [{ port: 80, targetPort: 8080 }],
    });
  }
}
