// The modules `npm run mutate` scores, with the source files mutated and the test files
// that run against their mutants. Pure data, read by stryker.config.mjs and scripts/mutate.sh.
export const modules = {
  filters: {
    mutate: ['runtime/dispatcher/filter/**/*.ts'],
    tests: ['test/runtime/filter.test.ts', 'test/runtime/guarantees-dispatcher.test.ts', 'test/runtime/routing.test.ts'],
  },
  cloudevents: {
    mutate: ['runtime/cloudevents/**/*.ts'],
    tests: ['test/runtime/cloudevents.test.ts', 'test/runtime/adapter.test.ts'],
  },
  adapter: {
    mutate: ['runtime/adapter/**/*.ts'],
    tests: ['test/runtime/adapter.test.ts', 'test/runtime/guarantees-adapter.test.ts'],
  },
  delivery: {
    mutate: ['runtime/dispatcher/delivery/**/*.ts'],
    tests: ['test/runtime/dispatcher.test.ts', 'test/runtime/delivery-policy.test.ts', 'test/runtime/guarantees-dispatcher.test.ts', 'test/runtime/hot-path.test.ts'],
  },
  ingress: {
    mutate: ['runtime/dispatcher/ingress/**/*.ts'],
    tests: ['test/runtime/dispatcher.test.ts', 'test/runtime/guarantees-dispatcher.test.ts', 'test/runtime/hot-path.test.ts'],
  },
  channel: {
    mutate: ['runtime/channel/in-memory.ts', 'runtime/channel/channel.ts', 'runtime/channel/jetstream/{outbox,publisher,subscription,errors}.ts'],
    tests: ['test/runtime/channel-contract.test.ts', 'test/runtime/channel-jetstream.test.ts', 'test/runtime/channel-inmemory.test.ts'],
  },
};
