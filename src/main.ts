/**
 * The process entry of `npm start`: reads the environment, starts Beckon on
 * one port with both roles, and shuts down gracefully on SIGTERM/SIGINT.
 */
import closeWithGrace from 'close-with-grace';
import { ConfigError, loadConfig } from './config.js';
import { createBeckon } from './app.js';

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
  const url = await beckon.listen();
  // The names the data routes answer to beside localhost, IP addresses and HOST (see BECKON_ALLOWED_HOSTS).
  log.info({ url, db: config.db, strict: config.strict, allowedHosts: config.allowedHosts }, `Beckon is listening on ${url}`);

  closeWithGrace({ delay: 10_000 }, async ({ signal, err }) => {
    if (err) log.error({ err }, 'closing after an error');
    else log.info({ signal }, 'closing');
    await beckon.close();
  });
}

main().catch((error: unknown) => {
  process.stderr.write(`Beckon failed to start: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
