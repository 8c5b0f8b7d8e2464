/** Pure builders of the plain custom resources the constructs wrap and the controller applies. */
export * from './types';
export * from './broker';
export * from './channel';
export * from './http-source';
export * from './subscription';
export * from './trigger';
export * from './application-mapping';
