import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { Account, planConnectionTest, readSecretRequest, testConnection, tuningOf } from '../src/account';
import { ApiError, ClientConfigError, DEFAULT_URLS } from '../src/api';
import type { AccountCredentials, AccountSettings, DeployedNode, PickerKind } from '../src/account';
import { eventRouterOf } from '../src/shared-state';
import { WebhookRoutes, httpNodeRootOf } from './lib/http-routes';
import type { Node, NodeAPI, NodeDefinition } from './lib/red';
import { claimStoreFor } from './lib/shared-claims';
import { retainSharedRedis, sharedRedisOf } from './lib/shared-state';

export interface AccountNode extends Node<AccountCredentials> {
  account: Account;
  /** The CallbackUrl for tracked commands, when status callbacks can reach this Node-RED. */
  trackingCallbackUrl(): string | undefined;
}

export default function register(RED: NodeAPI): void {
  const httpNodeRoot = httpNodeRootOf(RED);

  function SupersimAccountNode(this: AccountNode, config: NodeDefinition & AccountSettings): void {
    RED.nodes.createNode(this, config);
    // Several instances on one Redis: a status callback retried to another one is delivered once across
    // all, and what reaches this one for a command another sends is passed on (below). The connection
    // is held until the router has let go, after this node's close event.
    const redis = sharedRedisOf(RED);
    const releaseRedis = redis && retainSharedRedis(RED, {});
    const account = new Account(this.id, config, this.credentials ?? {}, tuningOf(RED.settings.supersim), {
      onAnswerPollError: (error, sim) => this.warn(RED._('supersim-account.errors.answer-poll-failed', { sim, message: error.message })),
      sharedIdempotency: redis && claimStoreFor(redis),
    });
    this.account = account;
    if (account.configError) this.warn(RED._('supersim-account.errors.config', { message: account.configError }));

    let releaseRoute: (() => void) | undefined;
    if (httpNodeRoot !== false && account.receivesCallbacks) {
      releaseRoute = WebhookRoutes.for(RED).add({
        path: account.callbackPath,
        owner: `supersim-account ${this.id}`,
        receive: (request) => account.handleCallback(request),
        warn: (report) => {
          const line = RED._('supersim-account.errors.callback-refused', { reason: report.reason });
          this.warn(report.unreported > 0 ? `${line} ${RED._('supersim-account.errors.callback-refused-more', { count: report.unreported })}` : line);
        },
      });
    }
    if (releaseRoute && account.callbacksUnsigned) this.warn(RED._('supersim-account.errors.unsigned-callbacks'));
    this.trackingCallbackUrl = () => (releaseRoute && httpNodeRoot !== false ? account.callbackUrl(httpNodeRoot) : undefined);

    const detach = redis ? eventRouterOf(redis).attach(this.id, account.hub, account.answers).catch(() => undefined) : undefined;

    this.on('close', (_removed, done) => {
      releaseRoute?.();
      Promise.resolve(detach)
        .then((stop) => stop?.())
        .catch(() => undefined)
        .then(() => account.close())
        .finally(() => releaseRedis?.())
        .then(done, done);
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
    // The editor shows what a blank URL field means; it reads the client's own defaults, not a copy.
    settings: {
      supersimAccountProviderUrls: { value: DEFAULT_URLS, exportable: true },
    },
  });

  /** The deployed account node behind an id, if it is one. */
  function deployedAccount(id: unknown): AccountNode | undefined {
    if (typeof id !== 'string' || id === '') return undefined;
    const node = RED.nodes.getNode(id) as AccountNode | null;
    return node && node.type === 'supersim-account' && node.account ? node : undefined;
  }

  function deployedNode(id: string): DeployedNode | undefined {
    const node = RED.nodes.getNode(id) as (Node & Partial<Pick<AccountNode, 'account'>>) | null;
    if (!node) return undefined;
    const account = node.type === 'supersim-account' ? node.account : undefined;
    return {
      type: node.type,
      settings: account ? { provider: account.provider, ...account.endpoints } : undefined,
      credentials: RED.nodes.getCredentials(id) ?? {},
    };
  }

  // Tests what is typed in the dialog; a secret left unchanged is tested only where it was deployed to.
  RED.httpAdmin.post('/supersim-account/test', RED.auth.needsPermission('supersim-account.write'), (req: Request, res: Response) => {
    const plan = planConnectionTest({ isJson: Boolean(req.is('application/json')), body: req.body }, deployedNode);
    if (!plan.ok) {
      res.status(plan.status).json({ result: 'error', message: plan.message });
      return;
    }
    testConnection(plan).then(
      (answer) => res.json(answer),
      () => res.status(500).json({ result: 'error', message: 'The test could not run; the Node-RED log may say more.' }),
    );
  });

  // The picker: suggestions from the deployed account, never the dialog's, so no credential travels through the editor.
  for (const kind of ['sims', 'fleets'] as const) {
    RED.httpAdmin.get(`/supersim-account/:id/${kind}`, forbiddenUnless(RED, 'supersim-account.read'), (req: Request, res: Response) => {
      suggest(kind, req, res);
    });
  }

  function suggest(kind: PickerKind, req: Request, res: Response): void {
    const node = deployedAccount(req.params.id);
    if (!node) {
      res.status(404).json({ reason: 'not-deployed', message: RED._('supersim-account.picker.not-deployed') });
      return;
    }
    if (node.account.configError !== undefined) {
      res.status(409).json({ reason: 'account-error', message: RED._('supersim-account.picker.account-error', { message: node.account.configError }) });
      return;
    }
    const query = typeof req.query.q === 'string' ? req.query.q : '';
    node.account.suggestions.suggest(kind, query).then(
      (answer) => res.json(answer),
      (err: unknown) => {
        // The client's messages name the failure and hold no secret; anything else is not shown.
        const message = err instanceof ApiError || err instanceof ClientConfigError ? err.message : RED._('supersim-account.picker.failed');
        res.status(502).json({ reason: 'api', message });
      },
    );
  }

  // One click in the dialog: KORE creates a webhook secret, and the runtime keeps it as the deployed account's credential.
  RED.httpAdmin.post('/supersim-account/:id/webhook-secret', RED.auth.needsPermission('supersim-account.write'), (req: Request, res: Response) => {
    // A form body is what a cross-site page can send.
    const read = readSecretRequest({ isJson: Boolean(req.is('application/json')), body: req.body });
    if (!read.ok) {
      res.status(read.status).json({ message: read.message });
      return;
    }
    const node = deployedAccount(req.params.id);
    if (!node) {
      res.status(404).json({ message: RED._('supersim-account.secret.not-deployed') });
      return;
    }
    const account = node.account;
    if (account.provider !== 'kore') {
      res.status(400).json({ message: RED._('supersim-account.secret.not-kore') });
      return;
    }
    const name = read.name ?? `node-red ${node.name || node.id}`;
    void (async () => {
      try {
        const created = await account.client.createWebhookSecret({ name });
        const stored = { ...(RED.nodes.getCredentials(node.id) ?? {}), webhookSecret: created.secret };
        await (RED.nodes as unknown as CredentialWriter).addCredentials(node.id, stored);
        // The value stays in the runtime: the dialog learns that it is stored, and which one.
        res.json({ stored: true, id: created.id, name: created.name, status: created.status });
      } catch (err) {
        const message = err instanceof ApiError || err instanceof ClientConfigError ? err.message : RED._('supersim-account.secret.failed');
        res.status(err instanceof ClientConfigError ? 400 : 502).json({ message });
      }
    })();
  });
}

/** Node-RED's runtime has it on RED.nodes; the typed slice in lib/red.ts does not declare it. */
interface CredentialWriter {
  addCredentials(id: string, credentials: Record<string, string | undefined>): Promise<void> | void;
}

/**
 * `needsPermission`, but a user who is logged in and lacks the permission gets 403 rather than 401:
 * the editor reads a 401 as "log in again", and the picker must instead say the user may not read
 * accounts. Without adminAuth, or without a login, Node-RED's own answer stands.
 */
export function forbiddenUnless(RED: NodeAPI, permission: string): RequestHandler {
  const authenticate = RED.auth.needsPermission('');
  const check = RED.auth.needsPermission(permission);
  return (req: Request, res: Response, next: NextFunction) => {
    authenticate(req, res, () => {
      if (!(req as Request & { user?: unknown }).user) {
        check(req, res, next);
        return;
      }
      const status = res.status.bind(res);
      res.status = (code: number) => status(code === 401 ? 403 : code);
      check(req, res, (err?: unknown) => {
        res.status = status;
        next(err);
      });
    });
  };
}
