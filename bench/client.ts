/**
 * npm run bench: creates per second through SuperSimClient against the simulator, beside a raw undici
 * Pool and node:http with keep-alive making the same requests to the same server in the same run.
 * Figures are reported as ratios to raw undici, since absolute numbers depend on the machine.
 */
import { fork } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { Pool } from 'undici';
import { SuperSimClient } from '../src/api';

interface SimInfo {
  supersimUrl: string;
  wirelessUrl: string;
  tokenUrl: string;
  credentials: { clientId: string; clientSecret: string };
}

interface RunResult {
  name: string;
  requests: number;
  seconds: number;
  perSecond: number;
  p50Ms: number;
  p99Ms: number;
}

const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 32);
const REQUESTS = Number(process.env.BENCH_REQUESTS ?? 5_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 7);
const WARMUP = 3_000;

type SendOne = (i: number) => Promise<void>;

async function run(name: string, requests: number, send: SendOne): Promise<RunResult> {
  const latencies = new Float64Array(requests);
  let next = 0;
  const started = process.hrtime.bigint();
  async function worker(): Promise<void> {
    for (;;) {
      const i = next++;
      if (i >= requests) return;
      const t0 = process.hrtime.bigint();
      await send(i);
      latencies[i] = Number(process.hrtime.bigint() - t0) / 1e6;
    }
  }
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  latencies.sort();
  return {
    name,
    requests,
    seconds,
    perSecond: requests / seconds,
    p50Ms: latencies[Math.floor(requests * 0.5)],
    p99Ms: latencies[Math.min(requests - 1, Math.floor(requests * 0.99))],
  };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

async function startSimulator(): Promise<{ info: SimInfo; stop: () => void }> {
  const child = fork(path.join(__dirname, 'simulator-process.ts'), [], {
    execArgv: ['--require', 'tsx/cjs'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const info = await new Promise<SimInfo>((resolve, reject) => {
    child.once('message', (m) => resolve(m as SimInfo));
    child.once('exit', (code) => reject(new Error(`simulator exited with ${code}`)));
  });
  return { info, stop: () => child.disconnect() };
}

async function fetchToken(info: SimInfo): Promise<string> {
  const res = await fetch(info.tokenUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'client_credentials', client_id: info.credentials.clientId, client_secret: info.credentials.clientSecret }),
  });
  const body = (await res.json()) as { access_token: string };
  return body.access_token;
}

function formFor(i: number): string {
  return new URLSearchParams({ Sim: 'bench-device', Payload: `reading ${i}`, DevicePort: '6655', PayloadType: 'text' }).toString();
}

export interface ClientBenchRow {
  name: string;
  perSecond: number;
  p50Ms: number;
  p99Ms: number;
  ratioToRawUndici: number;
}

export interface ClientBenchResult {
  concurrency: number;
  requests: number;
  rounds: number;
  rows: ClientBenchRow[];
}

/** B0 of npm run bench: the same measurement as this script's own run, returned instead of printed. */
export async function runClientBenchmark(): Promise<ClientBenchResult> {
  const { info, stop } = await startSimulator();
  const url = new URL(`${info.supersimUrl}/v1/IpCommands`);
  const token = await fetchToken(info);
  const headers = {
    authorization: `Bearer ${token}`,
    'content-type': 'application/x-www-form-urlencoded',
    accept: 'application/json',
  };

  const client = new SuperSimClient({
    provider: 'kore',
    clientId: info.credentials.clientId,
    clientSecret: info.credentials.clientSecret,
    supersimUrl: info.supersimUrl,
    wirelessUrl: info.wirelessUrl,
    tokenUrl: info.tokenUrl,
    maxInFlight: CONCURRENCY,
  });
  const pool = new Pool(url.origin, { connections: CONCURRENCY, pipelining: 1 });
  const agent = new http.Agent({ keepAlive: true, maxSockets: CONCURRENCY });

  const implementations: Record<string, SendOne> = {
    'SuperSimClient': async (i) => {
      const created = await client.createIpCommand({ sim: 'bench-device', payload: `reading ${i}`, devicePort: 6655, payloadType: 'text' });
      if (created.status !== 'queued') throw new Error('unexpected status');
    },
    'raw undici Pool': async (i) => {
      const res = await pool.request({ path: url.pathname, method: 'POST', headers, body: formFor(i) });
      const created = (await res.body.json()) as { status: string };
      if (res.statusCode !== 201 || created.status !== 'queued') throw new Error(`unexpected answer ${res.statusCode}`);
    },
    'node:http keep-alive': (i) =>
      new Promise<void>((resolve, reject) => {
        const body = formFor(i);
        const req = http.request(
          { host: url.hostname, port: url.port, path: url.pathname, method: 'POST', agent, headers: { ...headers, 'content-length': Buffer.byteLength(body) } },
          (res) => {
            const chunks: Buffer[] = [];
            res.on('data', (c: Buffer) => chunks.push(c));
            res.on('end', () => {
              const created = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { status: string };
              if (res.statusCode !== 201 || created.status !== 'queued') reject(new Error(`unexpected answer ${res.statusCode}`));
              else resolve();
            });
            res.on('error', reject);
          },
        );
        req.on('error', reject);
        req.end(body);
      }),
  };

  const rounds: Record<string, RunResult[]> = {};
  for (const [name, send] of Object.entries(implementations)) {
    await run(name, WARMUP, send);
    rounds[name] = [];
  }
  // Interleaved rounds, so drift in the machine's load touches every implementation alike.
  for (let round = 0; round < ROUNDS; round++) {
    for (const [name, send] of Object.entries(implementations)) {
      rounds[name].push(await run(name, REQUESTS, send));
    }
  }

  await client.close();
  await pool.close();
  agent.destroy();
  stop();

  const baseline = median(rounds['raw undici Pool'].map((r) => r.perSecond));
  const rows: ClientBenchRow[] = Object.entries(rounds).map(([name, results]) => {
    const perSecond = median(results.map((r) => r.perSecond));
    return {
      name,
      perSecond: Math.round(perSecond),
      p50Ms: Number(median(results.map((r) => r.p50Ms)).toFixed(2)),
      p99Ms: Number(median(results.map((r) => r.p99Ms)).toFixed(2)),
      ratioToRawUndici: Number((perSecond / baseline).toFixed(3)),
    };
  });

  return { concurrency: CONCURRENCY, requests: REQUESTS, rounds: ROUNDS, rows };
}

async function main(): Promise<void> {
  const { rows } = await runClientBenchmark();
  console.log(`\nIP Command creates against the simulator: ${REQUESTS} requests x ${ROUNDS} rounds (median), concurrency ${CONCURRENCY}\n`);
  console.log('implementation          creates/s    p50 ms    p99 ms   vs raw undici');
  for (const row of rows) {
    console.log(
      `${row.name.padEnd(22)} ${String(row.perSecond).padStart(10)} ${row.p50Ms.toFixed(2).padStart(9)} ${row.p99Ms.toFixed(2).padStart(9)} ${row.ratioToRawUndici.toFixed(2).padStart(11)}x`,
    );
  }
  const clientRatio = rows.find((r) => r.name === 'SuperSimClient')?.ratioToRawUndici ?? 0;
  console.log(`\nGoal: SuperSimClient at 0.80x raw undici or more: ${clientRatio >= 0.8 ? 'met' : 'NOT met'} (${clientRatio.toFixed(2)}x)`);

  const outDir = path.join(__dirname, '..', 'bench-results');
  mkdirSync(outDir, { recursive: true });
  writeFileSync(
    path.join(outDir, 'client.json'),
    JSON.stringify({ date: new Date().toISOString(), node: process.version, concurrency: CONCURRENCY, requests: REQUESTS, rounds: ROUNDS, rows }, null, 2),
  );
}

if (require.main === module) {
  main().catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
}
