/** Pulumi components of the event mesh (the `pulumi up` program is stacks/program). */
// First: a clear error, with the fix, when the optional Pulumi peers are not installed.
export { PULUMI_PEERS, missingPulumiPeers } from './peers';
export * from './event-mesh';
export * from './event-hubs-kafka';
export * from './gcp-pubsub';
export * from './gcp-account';
export * from './kubernetes-objects';
export { synthesizeInMemory, type InMemorySynth } from '../constructs/in-memory-synth';
export { deployEventMeshEnvironment, lateBound, planMesh, type ProgramResult } from './program/program';
export { readProgramConfig, ConfigValidationError, CONFIG_KEYS, type ProgramConfig, type AzureConfig, type GcpConfig, type ConfigSource, type ConfigProblem } from './program/config';
