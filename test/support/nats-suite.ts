/**
 * A test file's nats-server: started once (beforeAll) on a free port with a temp store, a
 * management connection to read streams directly, and clean-ups run after each test.
 * Register at the top level of a test file: `const js = natsSuite();`.
 */
import { jetstreamManager, JetStreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { channelTopic } from '../../constructs/api';
import type { CloudEventJson } from '../../runtime/cloudevents';
import { streamNameFor } from '../../runtime/channel/jetstream';
import { NatsServerHandle, startNatsServer } from './nats-server';

export interface NatsSuite {
  readonly nats: NatsServerHandle;
  readonly jsm: JetStreamManager;
  /** Run (last pushed first) after each test; failures are ignored. */
  readonly cleanups: (() => Promise<unknown>)[];
  /** The events stored on an application's channel stream, read from nats-server directly. */
  storedEvents(application: string): Promise<CloudEventJson[]>;
}

export function natsSuite(): NatsSuite {
  let nats: NatsServerHandle | undefined;
  let nc: Awaited<ReturnType<typeof connect>> | undefined;
  let jsm: JetStreamManager | undefined;
  const cleanups: (() => Promise<unknown>)[] = [];
  beforeAll(async () => {
    nats = await startNatsServer();
    nc = await connect({ servers: nats.url });
    jsm = await jetstreamManager(nc);
  });
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
  });
  afterAll(async () => {
    await nc?.close();
    await nats?.stop();
  });
  const started = <T>(value: T | undefined): T => {
    if (value === undefined) throw new Error('natsSuite: used before beforeAll started nats-server');
    return value;
  };
  return {
    get nats() {
      return started(nats);
    },
    get jsm() {
      return started(jsm);
    },
    cleanups,
    async storedEvents(application: string): Promise<CloudEventJson[]> {
      const manager = started(jsm);
      const stream = streamNameFor(channelTopic('kyma-integration', application));
      const info = await manager.streams.info(stream);
      const out: CloudEventJson[] = [];
      for (let seq = info.state.first_seq; info.state.messages > 0 && seq <= info.state.last_seq; seq++) {
        const m = await manager.streams.getMessage(stream, { seq });
        if (m) out.push(JSON.parse(Buffer.from(m.data).toString()) as CloudEventJson);
      }
      return out;
    },
  };
}
