import { randomBytes, randomInt } from 'node:crypto';
import type { CreatedWebhookSecret, WebhookSecret, WebhookSecretStatus } from '../api';

/** Lower-case Crockford base32, as KORE's ids (`whs_01jf8c4889ehtbzt0n9mzk1prc`) are written. */
const ID_ALPHABET = '0123456789abcdefghjkmnpqrstvwxyz';

function newSecretId(): string {
  let id = 'whs_';
  while (id.length < 30) id += ID_ALPHABET[randomInt(ID_ALPHABET.length)];
  return id;
}

interface StoredSecret {
  resource: WebhookSecret;
  value: string;
}

/**
 * The account's webhook secrets (KORE). The newest active one signs callbacks: a secret created
 * through the API takes over from the configured one at once, with no overlap, which is the simplest
 * behaviour a receiver can be tested against (KORE's docs say nothing of rotation windows).
 */
export class WebhookSecrets {
  /** Oldest first. */
  readonly #secrets: StoredSecret[] = [];

  /** `initial`: the configured secret, listed as "default"; none when empty. */
  constructor(initial: string) {
    if (initial !== '') this.#add('default', initial);
  }

  /** What signs callbacks now; '' for none (callbacks go unsigned). */
  get signingSecret(): string {
    for (let i = this.#secrets.length - 1; i >= 0; i--) if (this.#secrets[i].resource.status === 'active') return this.#secrets[i].value;
    return '';
  }

  create(name: string): CreatedWebhookSecret {
    const stored = this.#add(name, randomBytes(32).toString('base64url'));
    return { ...stored.resource, secret: stored.value };
  }

  /** Copies, oldest first, never with their values. */
  list(status: WebhookSecretStatus | null): WebhookSecret[] {
    return this.#secrets.filter((s) => status === null || s.resource.status === status).map((s) => ({ ...s.resource }));
  }

  #add(name: string, value: string): StoredSecret {
    const stored: StoredSecret = { resource: { id: newSecretId(), name, status: 'active', last_modified: new Date().toISOString() }, value };
    this.#secrets.push(stored);
    return stored;
  }
}
