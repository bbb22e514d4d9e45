import type { Request, Response } from 'express';
import { Account, clientOptionsOf, testConnection, tuningOf } from '../src/account/account';
import type { AccountCredentials, AccountSettings } from '../src/account/account';
import { WebhookRoutes } from './lib/http-routes';
import type { Node, NodeAPI, NodeDefinition } from './lib/red';

export interface AccountNode extends Node<AccountCredentials> {
  account: Account;
  /** The CallbackUrl for tracked commands, when status callbacks can reach this Node-RED. */
  trackingCallbackUrl(): string | undefined;
}

/** What the editor sends for an unchanged password field: the deployed value stands. */
const UNCHANGED_PASSWORD = '__PWRD__';
const CREDENTIAL_NAMES = ['clientId', 'clientSecret', 'accountSid', 'authToken', 'webhookSecret'] as const;
const CALLBACK_BODY_LIMIT = 64 * 1024;

export default function register(RED: NodeAPI): void {
  const nodeRoutesEnabled = RED.settings.httpNodeRoot !== false;
  const httpNodeRoot = typeof RED.settings.httpNodeRoot === 'string' ? RED.settings.httpNodeRoot : '/';

  function SupersimAccountNode(this: AccountNode, config: NodeDefinition & AccountSettings): void {
    RED.nodes.createNode(this, config);
    const account = new Account(this.id, config, this.credentials ?? {}, tuningOf(RED.settings.supersim));
    this.account = account;
    if (account.configError) this.warn(RED._('supersim-account.errors.config', { message: account.configError }));

    let releaseRoute: (() => void) | undefined;
    if (nodeRoutesEnabled && account.receivesCallbacks) {
      releaseRoute = WebhookRoutes.for(RED).add({
        path: account.callbackPath,
        methods: ['GET', 'POST'],
        maxBodyBytes: CALLBACK_BODY_LIMIT,
        owner: `supersim-account ${this.id}`,
        handle: (request) => {
          const result = account.handleCallback(request);
          if (result.status === 403) this.warn(RED._('supersim-account.errors.callback-refused', { reason: result.reason ?? '' }));
          return { status: result.status, reason: result.reason };
        },
      });
    }
    this.trackingCallbackUrl = () => (releaseRoute ? account.callbackUrl(httpNodeRoot) : undefined);

    this.on('close', (_removed, done) => {
      releaseRoute?.();
      account.close().then(done, done);
    });
  }

  RED.nodes.registerType('supersim-account', SupersimAccountNode, {
    credentials: {
      clientId: { type: 'text' },
      clientSecret: { type: 'password' },
      accountSid: { type: 'text' },
      authToken: { type: 'password' },
      webhookSecret: { type: 'password' },
    },
  });

  // Tests what is typed in the dialog, deployed or not; unchanged passwords come from the deployed node.
  RED.httpAdmin.post('/supersim-account/test', RED.auth.needsPermission('supersim-account.write'), (req: Request, res: Response) => {
    const body = (req.body ?? {}) as { id?: unknown; credentials?: Record<string, unknown> } & Record<string, unknown>;
    const deployed = typeof body.id === 'string' ? RED.nodes.getCredentials(body.id) : undefined;
    const typed = body.credentials ?? {};
    const credentials: AccountCredentials = {};
    for (const name of CREDENTIAL_NAMES) {
      const value = typed[name];
      credentials[name] = value === UNCHANGED_PASSWORD ? deployed?.[name] : typeof value === 'string' ? value : undefined;
    }
    const settings: AccountSettings = {
      provider: typeof body.provider === 'string' ? body.provider : undefined,
      supersimUrl: typeof body.supersimUrl === 'string' ? body.supersimUrl : undefined,
      wirelessUrl: typeof body.wirelessUrl === 'string' ? body.wirelessUrl : undefined,
      tokenUrl: typeof body.tokenUrl === 'string' ? body.tokenUrl : undefined,
    };
    testConnection(clientOptionsOf(settings, credentials)).then(
      (answer) => res.json(answer),
      (err: unknown) => res.status(500).json({ result: 'error', message: err instanceof Error ? err.message : String(err) }),
    );
  });
}
