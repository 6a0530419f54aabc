import { buildApp } from './app.js';
import { demoSignInLink } from './auth/console-login.js';
import { ConfigError, loadConfig, checkHost, type Config } from './config.js';

/** What a new user needs after start-up: where everything is and what to do next. */
function startupBanner(config: Config, port: number, signInPath?: string): string {
  const host = ['0.0.0.0', '::'].includes(config.host) ? '127.0.0.1' : config.host.includes(':') ? `[${config.host}]` : config.host;
  const base = `http://${host}:${port}`;
  const keyFile = config.adminKey ? 'the key in CUSTOS_ADMIN_KEY' : `$(cat ${config.dataDir}/admin-key)`;
  return [
    `Custos is listening on ${base}`,
    `  API       ${base}/v1`,
    `  API docs  ${base}/docs`,
    `  console   ${base}/`,
    ...(signInPath ? [`  sign in   ${base}${signInPath}   (one-time link for the demo admin; no IdP is configured)`] : []),
    `Next: KEY=${keyFile}; curl -H "Authorization: Bearer $KEY" ${base}/v1/controls (README.md walks through the rest)`,
  ].join('\n');
}

/** `npm start [-- --demo]`: runs Custos until SIGINT/SIGTERM, then closes the server and its database. */
async function main() {
  let config;
  try {
    config = loadConfig();
    await checkHost(config.host);
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`custos: ${error.message}\n`);
      process.exit(1);
    }
    throw error;
  }
  // The first admin key is shown once, so only once the server is listening: a start that fails
  // before (port taken) has not shown it for nothing. It is in <dataDir>/admin-key either way.
  const announcements: string[] = [];
  const app = await buildApp({ config, demo: process.argv.includes('--demo'), announce: (message) => announcements.push(message) });

  // SIGINT/SIGTERM drain requests first and stop PostgreSQL last, through app.close().
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

  try {
    await app.listen({ port: config.port, host: config.host });
  } catch (error) {
    await app.close().catch(() => undefined);
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE') throw new Error(`port ${config.port} on ${config.host} is in use: stop what uses it or set PORT`);
    throw error;
  }
  const address = app.server.address();
  for (const message of announcements) process.stderr.write(message + '\n');
  // A demo without an IdP still opens the console: a one-time admin sign-in link.
  const demo = process.argv.includes('--demo') && !config.oidc;
  const signInPath = demo ? await demoSignInLink(app) : undefined;
  process.stderr.write(startupBanner(config, typeof address === 'object' && address ? address.port : config.port, signInPath) + '\n');
}

main().catch((error: unknown) => {
  const reason = error instanceof Error ? error.message || error.name : String(error);
  process.stderr.write(`custos: failed to start: ${reason.split('\n')[0]}\n`);
  process.exit(1);
});
