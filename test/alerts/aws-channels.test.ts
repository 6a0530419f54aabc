/**
 * SNS and SES channels against moto: the published messages are read back through moto's own API
 * (/moto-api/data.json), not through Custos.
 */
import { CreateTopicCommand, SNSClient } from '@aws-sdk/client-sns';
import { CreateEmailIdentityCommand, SESv2Client } from '@aws-sdk/client-sesv2';
import t from 'tap';
import { create, testApp, waitFor } from '../helpers/app.js';
import { motoClient, motoSkip, startMoto } from '../helpers/moto.js';

t.test('an alert reaches an SNS topic and an SES recipient with its event id and links', { skip: motoSkip }, async (t) => {
  const moto = await startMoto(t);
  const topic = await new SNSClient(motoClient(moto.endpoint)).send(new CreateTopicCommand({ Name: 'custos-alerts' }));
  await new SESv2Client(motoClient(moto.endpoint)).send(new CreateEmailIdentityCommand({ EmailIdentity: 'custos@bank.example' }));
  const api = await testApp(t, { config: { awsEndpointUrl: moto.endpoint, awsRegion: 'us-east-1', alertEmailFrom: 'custos@bank.example', alertRetryBaseMs: 200 } });
  const alert = await create(api, '/v1/alerts', {
    name: 'Failing controls',
    metric: 'controls.status',
    comparison: 'gt',
    threshold: 0,
    severity: 'high',
    notification_channels: [{ type: 'sns', topic_arn: topic.TopicArn }, { type: 'email', address: 'secops@bank.example' }],
  }, 'compliance_officer');
  const sent = await api.call('POST', `/v1/alerts/${alert.id}/test`, { as: 'compliance_officer', body: {} });
  t.equal(sent.status, 202);
  const log = await waitFor(async () => {
    // Only the test message's two deliveries: with nothing collected, every automated control is
    // not_tested, so the configuration's own metric (controls.status) fires real alerts as well.
    const items = (await api.call('GET', `/v1/notifications?alert_id=${alert.id}&limit=500`, { as: 'auditor' })).body.items.filter((n: { message_id: string }) => n.message_id === sent.body.message_id);
    return items.length === 2 && items.every((n: { status: string }) => n.status !== 'pending') ? items : undefined;
  }, 'both deliveries finished', 90_000);
  for (const n of log) t.match(n, { status: 'delivered', attempts: [{ status: 'delivered', response_code: 200 }] }, `${n.channel_type} delivered`);

  const data = await (await fetch(`${moto.endpoint}/moto-api/data.json`)).json();
  const topics = data.sns.Topic as Array<{ arn: string; sent_notifications: Array<[string, string, string, Record<string, { Value?: string; StringValue?: string }>]> }>;
  const published = topics.find((x) => x.arn === topic.TopicArn)!.sent_notifications.filter(([, m]) => m.includes(sent.body.message_id));
  t.equal(published.length, 1, 'one SNS message for the test event');
  const [, message, subject, attributes] = published[0]!;
  t.match(JSON.parse(message), { type: 'alert.test', event_id: sent.body.message_id, alert: { id: alert.id } });
  t.match(subject, /\[TEST\] HIGH Failing controls/);
  t.match(JSON.stringify(attributes), sent.body.message_id, 'the event id is a message attribute');

  const emails = (data.ses.Message as Array<{ source: string; destinations: { ToAddresses: string[] }; subject: string; body: string }>).filter((m) => m.body.includes(sent.body.message_id));
  t.equal(emails.length, 1, 'one email for the test event');
  t.match(emails[0], { source: 'custos@bank.example', subject: /\[TEST\] HIGH Failing controls/ });
  t.match(JSON.stringify(emails[0]!.destinations), 'secops@bank.example');
  t.match(emails[0]!.body, `event id: ${sent.body.message_id}`);
});
