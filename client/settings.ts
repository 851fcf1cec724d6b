/** Where the Temporal server is: the environment wins, then the sandbox's own. */
export interface TemporalSettings {
  address: string;
  namespace: string;
}

export function temporalSettings(sandboxAddress?: string): TemporalSettings {
  return {
    address: process.env.TEMPORAL_ADDRESS || sandboxAddress || '127.0.0.1:7233',
    namespace: process.env.TEMPORAL_NAMESPACE || 'default',
  };
}
