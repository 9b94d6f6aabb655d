/**
 * The process entry of `npm start`: reads the environment, starts Beckon on
 * one port with both roles, and shuts down gracefully on SIGTERM/SIGINT.
 */
import closeWithGrace from 'close-with-grace';
import { ConfigError, loadConfig } from './config.js';
import { createBeckon } from './app.js';
import { StoreUnavailableError } from './store/store.js';

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
  const beckon = await createBeckon(config);
  const log = beckon.app.log;
  if (config.apiToken === null) {
    log.warn('BECKON_API_TOKEN is not set: the REST API and console data are served to loopback callers only');
  }
  // An operator who meets HOST_NOT_ALLOWED (421) finds here which names are answered.
  log.info(
    { host: config.host, allowedHosts: config.allowedHosts },
    'the API, metrics and visitor sockets answer to localhost, IP addresses, HOST and BECKON_ALLOWED_HOSTS',
  );
  for (const warning of await beckon.store.durabilityWarnings()) log.warn(warning);
  const url = await beckon.listen();
  // REDIS_URL may carry a password: only its host and port are ever logged.
  const where = config.redisUrl === null ? { db: config.db } : { redis: redisAddress(config.redisUrl), redisPrefix: config.redisPrefix };
  log.info({ url, store: beckon.store.kind, ...where, strict: config.strict }, `Beckon is listening on ${url}`);

  closeWithGrace({ delay: 10_000 }, async ({ signal, err }) => {
    if (err) log.error({ err }, 'closing after an error');
    else log.info({ signal }, 'closing');
    await beckon.close();
  });
}

/** host:port of a Redis URL, never its credentials. */
function redisAddress(redisUrl: string): string {
  const url = new URL(redisUrl);
  return `${url.protocol}//${url.host}${url.pathname}`;
}

main().catch((error: unknown) => {
  if (error instanceof StoreUnavailableError) {
    // The usual first-run mistake with REDIS_URL: one clear sentence, not a stack trace.
    process.stderr.write(`Beckon failed to start: the store cannot be reached (${error.message}). Check REDIS_URL and that Redis is running.\n`);
    process.exit(1);
  }
  process.stderr.write(`Beckon failed to start: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
