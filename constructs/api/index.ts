export * from './names';
export * from './duration';
export * from './attributes';
export * from './trigger-spec';
export * from './wiring';
export * from './broker-class';
export * from './labels';
export * from './resources';
