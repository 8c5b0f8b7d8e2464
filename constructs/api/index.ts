export * from './names';
export * from './duration';
export * from './attributes';
export * from './trigger-spec';
export * from './wiring';
export * from './pubsub';
