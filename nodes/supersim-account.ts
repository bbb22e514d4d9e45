import type { Request, Response } from 'express';
import { Account, planConnectionTest, testConnection, tuningOf } from '../src/account';
import { DEFAULT_URLS } from '../src/api';
import type { AccountCredentials, AccountSettings, DeployedNode } from '../src/account';
import { WebhookRoutes, httpNodeRootOf } from './lib/http-routes';
import type { Node, NodeAPI, NodeDefinition } from './lib/red';

export interface AccountNode extends Node<AccountCredentials> {
  account: Account;
  /** The CallbackUrl for tracked commands, when status callbacks can reach this Node-RED. */
  trackingCallbackUrl(): string | undefined;
}

export default function register(RED: NodeAPI): void {
  const httpNodeRoot = httpNodeRootOf(RED);

  function SupersimAccountNode(this: AccountNode, config: NodeDefinition & AccountSettings): void {
    RED.nodes.createNode(this, config);
    const account = new Account(this.id, config, this.credentials ?? {}, tuningOf(RED.settings.supersim), {
      onAnswerPollError: (error, sim) => this.warn(RED._('supersim-account.errors.answer-poll-failed', { sim, message: error.message })),
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
    // The editor shows what a blank URL field means; it reads the client's own defaults, not a copy.
    settings: {
      supersimAccountProviderUrls: { value: DEFAULT_URLS, exportable: true },
    },
  });

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
}
