// The modules `npm run mutate` scores, with the source files mutated and the test files
// that run against their mutants. Pure data, read by stryker.config.mjs and scripts/mutate.sh.
export const modules = {
  filters: {
    mutate: ['runtime/dispatcher/filter/**/*.ts'],
    tests: ['test/runtime/filter.test.ts', 'test/runtime/guarantees-dispatcher.test.ts', 'test/runtime/routing.test.ts'],
  },
  cloudevents: {
    mutate: ['runtime/cloudevents/**/*.ts'],
    tests: ['test/runtime/cloudevents-rules.test.ts', 'test/runtime/cloudevents-http.test.ts', 'test/runtime/cloudevents.test.ts', 'test/runtime/adapter.test.ts', 'test/runtime/trace-context.test.ts', 'test/runtime/hardening/inputs.test.ts'],
  },
  // The adapter's guarantee path: answer only once stored, errors mapped, graceful close.
  adapter: {
    mutate: ['runtime/adapter/handler.ts', 'runtime/adapter/server.ts'],
    tests: ['test/runtime/adapter.test.ts', 'test/runtime/guarantees-adapter.test.ts', 'test/runtime/adapter-http-contract.test.ts', 'test/runtime/adapter-server.test.ts'],
  },
  // Delivery's guarantee path: settle each message once, retries, dead letters, replies.
  delivery: {
    mutate: ['runtime/dispatcher/delivery/{worker,attempts,retry,backoff}.ts'],
    tests: ['test/runtime/delivery-worker.test.ts', 'test/runtime/dispatcher.test.ts', 'test/runtime/delivery-policy.test.ts', 'test/runtime/guarantees-dispatcher.test.ts', 'test/runtime/hot-path.test.ts', 'test/runtime/delivery-retries.test.ts', 'test/runtime/fan-out.test.ts'],
  },
  'adapter-legacy': {
    mutate: ['runtime/adapter/{legacy,metrics,index}.ts'],
    tests: ['test/runtime/adapter-legacy.test.ts', 'test/runtime/adapter.test.ts', 'test/runtime/guarantees-adapter.test.ts', 'test/runtime/adapter-server.test.ts'],
  },
  'delivery-http': {
    mutate: ['runtime/dispatcher/delivery/{http-sender,heartbeats,targets,policy,replies}.ts'],
    tests: ['test/runtime/delivery-http.test.ts', 'test/runtime/delivery-worker.test.ts', 'test/runtime/dispatcher.test.ts', 'test/runtime/delivery-policy.test.ts', 'test/runtime/delivery-defaults.test.ts', 'test/runtime/guarantees-dispatcher.test.ts', 'test/runtime/hot-path.test.ts'],
  },
  // The broker fan-out stage: shares settled once, lanes, parking, upgrade take-over.
  fanout: {
    mutate: ['runtime/dispatcher/fanout/**/*.ts'],
    tests: ['test/runtime/fan-out-shares.test.ts', 'test/runtime/fan-out-stage.test.ts', 'test/runtime/fan-out.test.ts', 'test/runtime/delivery-worker.test.ts', 'test/runtime/broker-hop.test.ts', 'test/runtime/dispatcher.test.ts', 'test/runtime/e2e.test.ts'],
  },
  ingress: {
    mutate: ['runtime/dispatcher/ingress/**/*.ts'],
    tests: ['test/runtime/broker-ingress.test.ts', 'test/runtime/dispatcher.test.ts', 'test/runtime/guarantees-dispatcher.test.ts', 'test/runtime/hot-path.test.ts'],
  },
  channel: {
    mutate: ['runtime/channel/in-memory.ts', 'runtime/channel/channel.ts', 'runtime/channel/jetstream/{outbox,publisher,subscription,errors}.ts'],
    tests: ['test/runtime/channel-errors.test.ts', 'test/runtime/channel-inmemory-internals.test.ts', 'test/runtime/channel-jetstream-publish.test.ts', 'test/runtime/channel-jetstream-subscription.test.ts', 'test/runtime/channel-contract.test.ts', 'test/runtime/channel-jetstream.test.ts', 'test/runtime/channel-inmemory.test.ts'],
  },
};
