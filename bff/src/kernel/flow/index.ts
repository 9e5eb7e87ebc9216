export {
  FlowError,
  FlowRuntime,
  defineFlow,
  type FlowDefinition,
  type FlowRuntimeDependencies,
  type FlowStep,
  type FlowView,
} from './flow-runtime.ts';
export type { FlowStore, StoredFlow } from './flow-store.ts';
export { PostgresFlowStore } from './postgres-flow-store.ts';
export { REST_TAG, isAtRest, stateValueToString } from './flow-state.ts';
export { FlowSchema, type FlowRecord } from './flow.entity.ts';
