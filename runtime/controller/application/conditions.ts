/** The Application's condition set and reasons (pure constants). */
export const APPLICATION_CONDITIONS = ['Rendered', 'SourceReady'] as const;

export const ApplicationReason = {
  /** The Application construct rejected the application (name, channel, adapter options). */
  InvalidApplication: 'InvalidApplication',
  /** The application's HTTPSource is not Ready (its own reason is in the message). */
  SourceNotReady: 'SourceNotReady',
} as const;
