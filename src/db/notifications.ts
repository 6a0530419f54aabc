import type { Knex } from 'knex';
import pg from 'pg';

export interface ListenerLog {
  warn(object: object, message: string): void;
}

/**
 * Sends a notification when the surrounding transaction commits (PostgreSQL NOTIFY semantics), so
 * other instances never hear of a change that was rolled back.
 */
export async function notifyOnCommit(trx: Knex.Transaction, channel: string, payload: string): Promise<void> {
  await trx.raw('SELECT pg_notify(?, ?)', [channel, payload]);
}

/**
 * Listens on PostgreSQL channels over one dedicated connection and reconnects after failures.
 * `onConnect` runs after every (re)connection, so the caller can catch up on anything missed.
 */
export class ChangeListener {
  private client: pg.Client | undefined;
  private stopped = false;
  private retry: NodeJS.Timeout | undefined;

  constructor(
    private readonly url: string,
    private readonly channels: string[],
    private readonly onNotify: (channel: string, payload: string) => void,
    private readonly onConnect: () => void,
    private readonly log: ListenerLog,
  ) {}

  async start(): Promise<void> {
    if (this.stopped) return;
    const client = new pg.Client({ connectionString: this.url, application_name: 'custos-listener' });
    client.on('notification', (message) => this.onNotify(message.channel, message.payload ?? ''));
    client.on('error', (error) => this.reconnect(error));
    client.on('end', () => this.reconnect(new Error('connection ended')));
    try {
      await client.connect();
      for (const channel of this.channels) await client.query(`LISTEN ${pg.escapeIdentifier(channel)}`);
      this.client = client;
      this.onConnect();
    } catch (error) {
      client.removeAllListeners('end');
      await client.end().catch(() => {});
      this.reconnect(error as Error);
    }
  }

  private reconnect(error: Error) {
    if (this.stopped || this.retry) return;
    this.log.warn({ err: error.message }, 'change listener disconnected; reconnecting');
    this.client = undefined;
    this.retry = setTimeout(() => {
      this.retry = undefined;
      void this.start();
    }, 1000);
    this.retry.unref();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.retry);
    const client = this.client;
    this.client = undefined;
    if (client) {
      client.removeAllListeners('end');
      await client.end().catch(() => {});
    }
  }
}
