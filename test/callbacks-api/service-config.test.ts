/** The callbacks service's settings from the environment (src/callbacks/service-config.ts). */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { serviceConfigFromEnv, simulatedNetworkFrom } from '../../src/cli/telephony-config.ts';
import { SimulatedNetwork } from '../../src/voice/simulated-network.ts';
import { TwilioCalls } from '../../src/voice/twilio-calls.ts';

test('simulated by default; options, script, hold and grace are read; bad values name the variable', async () => {
  const c = await serviceConfigFromEnv({});
  assert.ok(c.telephony instanceof SimulatedNetwork);
  assert.deepEqual(c.center, {});
  const d = await serviceConfigFromEnv({ SWITCHBOARD_CALLBACK_HOLD_UNTIL_QUOTE: '0', SWITCHBOARD_CALLBACK_DIAL_GRACE_SECONDS: '5', SWITCHBOARD_CALLBACK_DIAL_LOG: '/tmp/x' });
  assert.deepEqual(d.center, { holdUntilQuote: false, dialGraceSeconds: 5 });
  assert.equal(d.dialLog, '/tmp/x');
  const n = simulatedNetworkFrom(JSON.stringify({ seed: 2, ringMinSeconds: 1, ringMaxSeconds: 1, script: { '+14155550100': ['busy'] } }));
  n.dial({ key: 'k', callbackSid: 'CB1', to: '+14155550100', from: null, ringTimeoutSeconds: 30 }, 0);
  assert.equal(n.dials[0]!.outcome, 'busy', 'the script is used first');
  await assert.rejects(serviceConfigFromEnv({ SWITCHBOARD_TELEPHONY: 'pots' }), /SWITCHBOARD_TELEPHONY/);
  await assert.rejects(serviceConfigFromEnv({ SWITCHBOARD_CALLBACK_HOLD_UNTIL_QUOTE: 'yes' }), /SWITCHBOARD_CALLBACK_HOLD_UNTIL_QUOTE/);
  await assert.rejects(serviceConfigFromEnv({ SWITCHBOARD_CALLBACK_DIAL_GRACE_SECONDS: '-1' }), /SWITCHBOARD_CALLBACK_DIAL_GRACE_SECONDS/);
  assert.throws(() => simulatedNetworkFrom('{'), /SWITCHBOARD_SIM_NETWORK is not valid JSON/);
  assert.throws(() => simulatedNetworkFrom('{"script":{"+1415":["maybe"]}}'), /script/);
  await assert.rejects(serviceConfigFromEnv({ SWITCHBOARD_TELEPHONY: 'twilio', TWILIO_ACCOUNT_SID: 'AC1' }), /TWILIO_AUTH_TOKEN is required/);
});

test('twilio: the official client with a configurable API base URL and the webhook token', async () => {
  const c = await serviceConfigFromEnv({
    SWITCHBOARD_TELEPHONY: 'twilio',
    TWILIO_ACCOUNT_SID: 'AC' + '1'.repeat(32),
    TWILIO_AUTH_TOKEN: 'secret',
    SWITCHBOARD_CALLBACK_FROM: '+14155550000',
    SWITCHBOARD_CALLBACK_TWIML_URL: 'https://flows.example.com/ready.xml',
    SWITCHBOARD_CALLBACK_STATUS_URL: 'https://sb.example.com/telephony/twilio/status',
    SWITCHBOARD_TWILIO_API_BASE_URL: 'http://127.0.0.1:9',
  });
  assert.ok(c.telephony instanceof TwilioCalls);
  assert.equal(c.telephonyAuthToken, 'secret');
});
