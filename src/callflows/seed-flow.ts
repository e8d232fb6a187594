/**
 * The seed flow (spec voice-worker-sdk-console.md A1, issue 12): a welcome, "press 1 for Hindi, 2
 * for English" into `selected_language` (silence counts as English, as in Twilio's quickstart,
 * where "please hold or press two" means the same), then the call is enqueued into the workflow
 * "Incoming Customer Requests" with hold music and an announcement of the caller's place and
 * wait every 60 seconds. `switchboard serve --demo` creates that workflow and attaches this flow,
 * with its SID, to the demo number.
 */
import type { CallFlow } from './flow.ts';

/** The workflow the seed flow enqueues into. */
export const SEED_WORKFLOW_NAME = 'Incoming Customer Requests';

/** Twilio's public hold-music sample (the classical playlist `<Enqueue>` plays by default). */
export const SEED_HOLD_MUSIC_URL = 'http://com.twilio.sounds.music.s3.amazonaws.com/MARKOVICHAMP-Borghestral.mp3';

/** The seed flow for the workflow `workflowSid` (the SID of "Incoming Customer Requests"). */
export function seedFlow(workflowSid: string): CallFlow {
  return {
    version: 1,
    friendlyName: 'Welcome and language menu',
    steps: [
      { id: 'welcome', say: { text: 'Thank you for calling. Your call is important to us.', language: 'en-US' } },
      {
        id: 'language',
        gather: {
          input: 'dtmf',
          numDigits: 1,
          timeout: 5,
          prompt: [
            { say: { text: 'Hindi ke liye ek dabaiye.', language: 'hi-IN' } },
            { say: { text: 'For English, press two, or stay on the line.', language: 'en-US' } },
          ],
          into: 'selected_language',
          choices: { '1': 'hindi', '2': 'english' },
          noInput: 'english',
          attempts: 2,
        },
      },
      {
        id: 'queue',
        enqueue: {
          workflowSid,
          attributes: { type: 'inbound_call' },
          hold: { musicUrl: SEED_HOLD_MUSIC_URL, announceEvery: 60, announce: ['position', 'ewt'] },
        },
      },
    ],
  };
}
