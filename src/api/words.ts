/** How messages speak of the client's operations and the account node's fields: in words users read. */

/** How an error message speaks of an operation: users read words, not the client's method names. */
export interface OperationWords {
  /** "creating the IP Command": what was going on. */
  doing: string;
  /** "create the IP Command": what the provider refused to do. */
  todo: string;
  /** For requests that change something: "the IP Command may have been created". */
  mayHaveActed?: string;
  /** And once the provider said it did: "the IP Command was created". */
  acted?: string;
}

const OPERATION_WORDS: Readonly<Record<string, OperationWords>> = {
  createIpCommand: { doing: 'creating the IP Command', todo: 'create the IP Command', mayHaveActed: 'the IP Command may have been created', acted: 'the IP Command was created' },
  fetchIpCommand: { doing: 'fetching the IP Command', todo: 'fetch the IP Command' },
  listIpCommands: { doing: 'listing IP Commands', todo: 'list IP Commands' },
  createSmsCommand: { doing: 'creating the SMS Command', todo: 'create the SMS Command', mayHaveActed: 'the SMS Command may have been created', acted: 'the SMS Command was created' },
  fetchSmsCommand: { doing: 'fetching the SMS Command', todo: 'fetch the SMS Command' },
  listSmsCommands: { doing: 'listing SMS Commands', todo: 'list SMS Commands' },
  createWirelessCommand: { doing: 'creating the Wireless Command', todo: 'create the Wireless Command', mayHaveActed: 'the Wireless Command may have been created', acted: 'the Wireless Command was created' },
  fetchWirelessCommand: { doing: 'fetching the Wireless Command', todo: 'fetch the Wireless Command' },
  listWirelessCommands: { doing: 'listing Wireless Commands', todo: 'list Wireless Commands' },
  deleteWirelessCommand: { doing: 'deleting the Wireless Command', todo: 'delete the Wireless Command', mayHaveActed: 'the Wireless Command may have been deleted', acted: 'the Wireless Command was deleted' },
  fetchFleet: { doing: 'fetching the Fleet', todo: 'fetch the Fleet' },
  updateFleet: { doing: 'updating the Fleet', todo: 'update the Fleet' },
  listSims: { doing: 'listing SIMs', todo: 'list SIMs' },
  fetchSim: { doing: 'fetching the SIM', todo: 'fetch the SIM' },
  listFleets: { doing: 'listing Fleets', todo: 'list Fleets' },
  listWirelessSims: { doing: 'listing Wireless SIMs', todo: 'list Wireless SIMs' },
  fetchWirelessSim: { doing: 'fetching the Wireless SIM', todo: 'fetch the Wireless SIM' },
  updateWirelessSim: { doing: 'updating the Wireless SIM', todo: 'update the Wireless SIM' },
  createWebhookSecret: { doing: 'creating the webhook secret', todo: 'create the webhook secret', mayHaveActed: 'the webhook secret may have been created', acted: 'the webhook secret was created' },
  listWebhookSecrets: { doing: 'listing webhook secrets', todo: 'list webhook secrets' },
  verifyCredentials: { doing: 'checking the credentials', todo: 'check the credentials' },
  fetchToken: { doing: 'getting an access token', todo: 'give an access token' },
};

export function wordsFor(operation: string): OperationWords {
  return OPERATION_WORDS[operation] ?? { doing: 'calling the API', todo: 'answer the request' };
}

/** The first letter in upper case, for a phrase that starts a sentence. */
export function capitalised(text: string): string {
  return text === '' ? text : text[0].toUpperCase() + text.slice(1);
}

/** The account node's fields that hold a provider's credentials, by their editor labels. */
export function credentialFields(provider: 'kore' | 'twilio'): string {
  return provider === 'kore' ? 'Client ID and Client Secret' : 'Account SID and Auth Token';
}
