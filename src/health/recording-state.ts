/**
 * The states a camera's recorder reports, in one list: recorder/ sets them, health shows them, metrics
 * exports one gauge per state (so a state added here is exported without another edit).
 */
export const RECORDING_STATES = ["connecting", "recording", "stalled", "offline", "paused"] as const;

export type RecordingState = (typeof RECORDING_STATES)[number];
