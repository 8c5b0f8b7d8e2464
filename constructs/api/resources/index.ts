export * from './types';
export * from './broker';
export * from './channel';
export * from './http-source';
export * from './subscription';
export * from './trigger';
export * from './application-mapping';
