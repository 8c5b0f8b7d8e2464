export * from './manifests';
export * from './table';
export * from './diff';
export * from './watcher';
export * from './cluster-source';
