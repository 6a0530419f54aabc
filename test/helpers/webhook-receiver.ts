import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import https from 'node:https';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import type { Test } from 'tap';
import { Webhook } from 'standardwebhooks';
import { tempDir } from './app.js';

/** A self-signed certificate for 127.0.0.1 and localhost, made with the openssl CLI (once per test file). */
let certificate: Promise<{ key: string; cert: string; certFile: string }> | undefined;
export function testCertificate() {
  certificate ??= tempDir('custos-tls-').then((dir) => {
    const keyFile = path.join(dir, 'key.pem');
    const certFile = path.join(dir, 'cert.pem');
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', keyFile, '-out', certFile, '-days', '2', '-subj', '/CN=localhost', '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost'], { stdio: 'ignore' });
    return { key: fs.readFileSync(keyFile, 'utf8'), cert: fs.readFileSync(certFile, 'utf8'), certFile };
  });
  return certificate;
}

export interface Delivery {
  id: string;
  timestamp: string;
  signature: string;
  verified: boolean;
  body: any;
  raw: string;
  answered: number | null;
}

/** What the receiver answers to a request: a status, a status after a delay, or `hang` to never answer. */
export type Behaviour = (delivery: Delivery, previousAttempts: number) => number | 'hang' | { status: number; delayMs: number };

/**
 * A local HTTPS webhook receiver as a customer would write one: it verifies the Standard Webhooks
 * signature with the channel's secret and records every request; `processed` holds each event id
 * once (a receiver honouring the event id drops repeats).
 */
export async function startReceiver(t: Test, initial: Behaviour = () => 200) {
  let behaviour = initial;
  const { key, cert } = await testCertificate();
  const deliveries: Delivery[] = [];
  const processed = new Map<string, Delivery>();
  const secrets: string[] = [];
  const hanging = new Set<import('node:http').ServerResponse>();
  const server = https.createServer({ key, cert }, (request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (c: Buffer) => chunks.push(c));
    request.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      const headers = { 'webhook-id': String(request.headers['webhook-id'] ?? ''), 'webhook-timestamp': String(request.headers['webhook-timestamp'] ?? ''), 'webhook-signature': String(request.headers['webhook-signature'] ?? '') };
      const verified = secrets.some((secret) => {
        try {
          new Webhook(secret).verify(raw, headers);
          return true;
        } catch {
          return false;
        }
      });
      let body: unknown = undefined;
      try {
        body = JSON.parse(raw);
      } catch {
        body = raw;
      }
      const delivery: Delivery = { id: headers['webhook-id'], timestamp: headers['webhook-timestamp'], signature: headers['webhook-signature'], verified, body, raw, answered: null };
      const previous = deliveries.filter((d) => d.id === delivery.id).length;
      deliveries.push(delivery);
      const answer = behaviour(delivery, previous);
      if (answer === 'hang') {
        hanging.add(response);
        return;
      }
      const respond = (status: number) => {
        delivery.answered = verified ? status : 401;
        if (delivery.answered >= 200 && delivery.answered < 300 && !processed.has(delivery.id)) processed.set(delivery.id, delivery);
        if (!response.destroyed) response.writeHead(delivery.answered, { 'content-type': 'application/json' }).end('{}');
      };
      if (typeof answer === 'number') respond(answer);
      else {
        hanging.add(response);
        setTimeout(() => {
          hanging.delete(response);
          respond(answer.status);
        }, answer.delayMs);
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  t.teardown(
    () =>
      new Promise<void>((resolve) => {
        for (const r of hanging) r.destroy();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  );
  return {
    url: `https://127.0.0.1:${port}/hooks/custos`,
    port,
    deliveries,
    processed,
    /** The channel secrets the receiver accepts (from the alert's creation or a rotation). */
    trust(secret: string) {
      secrets.push(secret);
    },
    /** Changes how later requests are answered (a receiver that gets fixed). */
    behave(next: Behaviour) {
      behaviour = next;
    },
  };
}
