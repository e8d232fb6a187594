/**
 * The call-flow core's public surface (spec voice-worker-sdk-console.md A1, A5.3; docs/voice.md):
 * the flow format and its validation, the seed flow, and the interpreter.
 */
export * from './flow.ts';
export { FlowValidationError, normalizeSpeech, validateFlow } from './validate.ts';
export { SEED_HOLD_MUSIC_URL, SEED_WORKFLOW_NAME, seedFlow } from './seed-flow.ts';
export { DEFAULTS as FLOW_DEFAULTS, snakeCase } from './machine.ts';
export { CallFlowInterpreter, type CallFlowSnapshot } from './interpreter.ts';
export type * from './model.ts';
