/** The mesh's labels; they live in api/labels.ts (pure, shared with the controller) and are re-exported here. */
export { COMPONENT_LABEL, NAME_LABEL, labelValue, meshLabels, selectorLabels } from './api/labels';
