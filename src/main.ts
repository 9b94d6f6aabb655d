/**
 * The process entry of `npm start` and of `beckon start` (cli.ts): reads the
 * environment, starts Beckon on one port with both roles, says where
 * everything is, and shuts down gracefully on SIGTERM/SIGINT.
 */
import { sep } from 'node:path';
import closeWithGrace from 'close-with-grace';
import { ConfigError, loadConfig, type BeckonConfig } from './config.js';
import { createBeckon } from './app.js';
import { loggerOptions, prettyLogStream } from './backend/logging.js';
import { StoreUnavailableError } from './core/store.js';
import { describeEndpoint, redisEndpointOf, redisKeyPrefix } from './store/redis/endpoint.js';
import { keepRunningThroughStrayRedisFailures } from './store/redis/stray-errors.js';

async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig(process.env);
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`);
      process.exit(2);
    }
    throw error;
  }
  if (redisEndpointOf(config) === null && config.db.split(sep).includes('node_modules')) {
    // An installed package's folder is replaced by the next install or upgrade, data and all.
    process.stderr.write(
      `Beckon will not keep its data inside node_modules (${config.db}): start it from your own folder, or set BECKON_DB to a path outside node_modules.\n`,
    );
    process.exit(2);
  }
  // A person at a terminal reads the log; anything else (a service, a pipe, a test) parses JSON lines.
  const logStream = process.stdout.isTTY ? await prettyLogStream() : undefined;
  const beckon = await createBeckon(config, { logger: loggerOptions(config.logLevel, logStream) });
  const log = beckon.app.log;
  if (redisEndpointOf(config) !== null) keepRunningThroughStrayRedisFailures(log);
  if (config.apiToken === null) {
    log.warn('BECKON_API_TOKEN is not set: the REST API and console data are served to loopback callers only');
  }
  // An operator who meets HOST_NOT_ALLOWED (421) finds here which names are answered.
  log.info(
    { host: config.host, allowedHosts: config.allowedHosts },
    'the API, metrics and visitor sockets answer to localhost, IP addresses, HOST and BECKON_ALLOWED_HOSTS',
  );
  for (const warning of await beckon.store.durabilityWarnings()) log.warn(warning);
  let url;
  try {
    url = await beckon.listen();
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE' || code === 'EACCES') {
      // The usual first-run mistake: another program (or another Beckon) has the port. One sentence, no stack.
      const why = code === 'EADDRINUSE' ? 'is already in use' : 'needs privileges this user lacks';
      process.stderr.write(
        `Beckon cannot start: port ${config.port} on ${config.host} ${why}; set PORT to another port (for example PORT=9090).\n`,
      );
      process.exit(1);
    }
    throw error;
  }
  // REDIS_URL may carry a password: only addresses are ever logged.
  const redis = redisEndpointOf(config);
  const where =
    redis === null ? { db: config.db } : { redis: describeEndpoint(redis), redisPrefix: redisKeyPrefix(config) };
  log.info({ url, store: beckon.store.kind, ...where, strict: config.strict }, banner(config, url));

  closeWithGrace({ delay: 10_000 }, async ({ signal, err }) => {
    if (err) log.error({ err }, 'closing after an error');
    else log.info({ signal }, 'closing');
    await beckon.close();
  });
}

/**
 * The start line: where this process serves the shop (frontend), the console
 * and the docs (backend), and where its data is. Its first line stays
 * "Beckon is listening on URL", which scripts look for.
 */
function banner(config: BeckonConfig, url: string): string {
  const lines: [string, string][] = [];
  if (config.role !== 'backend') lines.push(['shop', `${url}/`]);
  if (config.role !== 'frontend') lines.push(['console', `${url}/console`], ['docs', `${url}/docs/`]);
  const redis = redisEndpointOf(config);
  lines.push([
    'data',
    redis === null ? config.db : `Redis ${describeEndpoint(redis)}, keys ${redisKeyPrefix(config)}*`,
  ]);
  return [`Beckon is listening on ${url}`, ...lines.map(([what, where]) => `  ${what.padEnd(8)}${where}`)].join('\n');
}

main().catch((error: unknown) => {
  if (error instanceof StoreUnavailableError) {
    // The usual first-run mistake with REDIS_URL: one clear sentence, not a stack trace.
    process.stderr.write(
      `Beckon failed to start: the store cannot be reached (${error.message}). Check REDIS_URL (or REDIS_SENTINELS, REDIS_CLUSTER_NODES) and that Redis is running.\n`,
    );
    process.exit(1);
  }
  process.stderr.write(`Beckon failed to start: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
