/**
 * Entry point of the Pulumi program (Pulumi.yaml `main: lib/stacks/program/index.js`, built
 * by `npm run build`). Reads the stack config, deploys the environment, exports its URLs.
 */
import * as pulumi from '@pulumi/pulumi';
import { ConfigValidationError, readProgramConfig } from './config';
import { deployEventMeshEnvironment } from './program';

function run() {
  const config = new pulumi.Config();
  try {
    return deployEventMeshEnvironment(readProgramConfig(config, Object.keys(pulumi.runtime.allConfig())), config.name);
  } catch (err) {
    // A clean message, no stack trace: the problems already say which key and how to fix it.
    if (err instanceof ConfigValidationError) throw new pulumi.RunError(err.message);
    throw err;
  }
}

const { outputs } = run();

/** The default channel: "nats", "kafka" or "pubsub". */
export const channel = outputs.channel;
/** Application name → the URL it posts CloudEvents to. */
export const adapterUrls = outputs.adapterUrls;
/** `<namespace>/<broker>` → the broker's ingress URL. */
export const brokerIngressUrls = outputs.brokerIngressUrls;
/** The NATS client URL (NATS deployed). */
export const natsUrl = outputs.natsUrl;
/** The Event Hubs namespace (Kafka channel). */
export const eventHubsNamespace = outputs.eventHubsNamespace;
/** `<namespace>.servicebus.windows.net:9093` (Kafka channel). */
export const kafkaBrokers = outputs.kafkaBrokers;
/** Event Hubs created for the Kafka topics (Kafka channel). */
export const eventHubNames = outputs.eventHubNames;
/** The Google service account the mesh acts as through Workload Identity (Pub/Sub channel). */
export const gcpServiceAccount = outputs.gcpServiceAccount;
/** Pub/Sub topics created up front (Pub/Sub channel). */
export const pubsubTopicIds = outputs.pubsubTopicIds;
