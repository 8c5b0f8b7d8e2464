/** The ApplicationMapping's condition set and reasons (pure constants). */
export const APPLICATION_MAPPING_CONDITIONS = ['ApplicationFound', 'ApplicationReady'] as const;

export const ApplicationMappingReason = {
  /** No Application of the mapping's name exists. */
  ApplicationNotFound: 'ApplicationNotFound',
  /** The Application exists but is not Ready. */
  ApplicationNotReady: 'ApplicationNotReady',
} as const;
