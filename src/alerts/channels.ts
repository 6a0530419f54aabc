import https from 'node:https';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { SendEmailCommand, SESv2Client } from '@aws-sdk/client-sesv2';
import type { StoredChannel } from './alerts.js';
import { AddressRefused, checkTarget, guardedAgent } from './address-guard.js';
import { signatureHeader, type ChannelSecret } from './secrets.js';

export interface Message {
  messageId: string;
  payload: { summary: string; links: Array<{ rel: string; href: string }> } & Record<string, unknown>;
}

/** The result of one attempt, as the delivery log records it. */
export interface Outcome {
  status: 'delivered' | 'failed' | 'timeout' | 'refused';
  responseCode: number | null;
  error: string | null;
  /** No retry can help (the target is refused, the channel is misconfigured). */
  permanent?: boolean;
}

export interface ChannelSettings {
  allowHosts: ReadonlySet<string>;
  /** Extra CA certificate (PEM) trusted for webhook TLS besides the system roots. */
  webhookCa?: string;
  timeoutMs: number;
  awsEndpointUrl?: string;
  awsRegion?: string;
  awsMaxAttempts: number;
  emailFrom?: string;
}

const RESPONSE_LIMIT = 64 * 1024;

/** Slack incoming webhooks read `text` (mrkdwn); the event id stays in the headers and the text. */
function slackBody(message: Message): string {
  const links = message.payload.links.map((l) => `<${l.href}|${l.rel}>`).join(' · ');
  return JSON.stringify({ text: `${message.payload.summary}\n${links}\nevent ${message.messageId}` });
}

/** One signed POST (Standard Webhooks headers), through the address guard, within the timeout. */
export function sendWebhook(channel: StoredChannel, secrets: ChannelSecret, message: Message, settings: ChannelSettings, agent: https.Agent): Promise<Outcome> {
  const body = channel.format === 'slack' ? slackBody(message) : JSON.stringify(message.payload);
  const url = new URL(channel.url!);
  try {
    checkTarget(url, settings.allowHosts);
  } catch (error) {
    return Promise.resolve({ status: 'refused', responseCode: null, error: (error as Error).message, permanent: true });
  }
  const at = new Date();
  return new Promise<Outcome>((resolve) => {
    let settled = false;
    const finish = (outcome: Outcome) => {
      if (settled) return;
      settled = true;
      clearTimeout(deadline);
      resolve(outcome);
    };
    const request = https.request(url, {
      method: 'POST',
      agent,
      headers: {
        'content-type': 'application/json',
        'content-length': Buffer.byteLength(body),
        'user-agent': 'Custos-Alerts',
        'webhook-id': message.messageId,
        'webhook-timestamp': String(Math.floor(at.getTime() / 1000)),
        'webhook-signature': signatureHeader(secrets, message.messageId, at, body),
      },
    });
    // One deadline for connect, TLS, request and response: a receiver that never answers costs timeoutMs.
    const deadline = setTimeout(() => {
      request.destroy();
      finish({ status: 'timeout', responseCode: null, error: `no response within ${settings.timeoutMs} ms` });
    }, settings.timeoutMs);
    request.on('response', (response) => {
      let size = 0;
      response.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > RESPONSE_LIMIT) response.destroy();
      });
      const done = () => {
        const code = response.statusCode ?? 0;
        finish(code >= 200 && code < 300 ? { status: 'delivered', responseCode: code, error: null } : { status: 'failed', responseCode: code, error: `the receiver answered ${code}` });
      };
      response.on('end', done);
      response.on('close', done);
      response.on('error', done);
    });
    request.on('error', (error) => {
      if (error instanceof AddressRefused) finish({ status: 'refused', responseCode: null, error: error.message, permanent: true });
      else finish({ status: 'failed', responseCode: null, error: error.message });
    });
    request.end(body);
  });
}

const awsCode = (error: unknown) => (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode ?? null;

/** SNS Publish; FIFO topics de-duplicate on the event id themselves. */
export async function sendSns(channel: StoredChannel, message: Message, settings: ChannelSettings): Promise<Outcome> {
  const region = channel.topic_arn!.split(':')[3]!;
  const client = new SNSClient({ region, maxAttempts: 1, ...(settings.awsEndpointUrl ? { endpoint: settings.awsEndpointUrl } : {}) });
  try {
    const fifo = channel.topic_arn!.endsWith('.fifo');
    const result = await client.send(
      new PublishCommand({
        TopicArn: channel.topic_arn,
        Subject: message.payload.summary.replace(/[^\x20-\x7e]/g, ' ').slice(0, 100),
        Message: JSON.stringify(message.payload),
        MessageAttributes: { event_id: { DataType: 'String', StringValue: message.messageId } },
        ...(fifo ? { MessageGroupId: 'custos-alerts', MessageDeduplicationId: message.messageId } : {}),
      }),
      { abortSignal: AbortSignal.timeout(settings.timeoutMs) },
    );
    return { status: 'delivered', responseCode: result.$metadata.httpStatusCode ?? 200, error: null };
  } catch (error) {
    return { status: (error as Error).name === 'AbortError' ? 'timeout' : 'failed', responseCode: awsCode(error), error: `${(error as Error).name}: ${(error as Error).message}` };
  } finally {
    client.destroy();
  }
}

/** Email through SES (v2 SendEmail): the summary as subject, the message and its links as text. */
export async function sendEmail(channel: StoredChannel, message: Message, settings: ChannelSettings): Promise<Outcome> {
  if (!settings.emailFrom) return { status: 'failed', responseCode: null, error: 'CUSTOS_ALERT_EMAIL_FROM is not set: no sender for email alerts', permanent: true };
  const client = new SESv2Client({ maxAttempts: 1, region: settings.awsRegion ?? 'us-east-1', ...(settings.awsEndpointUrl ? { endpoint: settings.awsEndpointUrl } : {}) });
  const text = [message.payload.summary, '', ...message.payload.links.map((l) => `${l.rel}: ${l.href}`), '', `event id: ${message.messageId}`].join('\n');
  try {
    const result = await client.send(
      new SendEmailCommand({
        FromEmailAddress: settings.emailFrom,
        Destination: { ToAddresses: [channel.address!] },
        Content: { Simple: { Subject: { Data: message.payload.summary.slice(0, 200) }, Body: { Text: { Data: text } } } },
      }),
      { abortSignal: AbortSignal.timeout(settings.timeoutMs) },
    );
    return { status: 'delivered', responseCode: result.$metadata.httpStatusCode ?? 200, error: null };
  } catch (error) {
    return { status: (error as Error).name === 'AbortError' ? 'timeout' : 'failed', responseCode: awsCode(error), error: `${(error as Error).name}: ${(error as Error).message}` };
  } finally {
    client.destroy();
  }
}

export { guardedAgent };
