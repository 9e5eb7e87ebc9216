export { FlowRuntime, defineFlow, type FlowDefinition, type FlowView, type FlowRuntimeDependencies } from './flow-runtime.ts';
export { REST_TAG, isAtRest, stateValueToString } from './flow-state.ts';
export { FlowSchema, type FlowRecord } from './flow.entity.ts';
