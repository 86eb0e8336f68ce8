// The alert channels as the rest of the code sees them: Slack (the `slack:` section) and the
// channels of `alerts.channels` (webhook, PagerDuty). Each takes a message and says whether it
// was delivered; none ever throws, and none prints or records its secret.
import type { AlertFacts } from '../core/alert-text.js';
import type { Level } from '../core/levels.js';
import type { SendOutcome } from '../effects/slack.js';
import type { AlertPayload } from './payload.js';

export type { SendOutcome };

export interface ChannelMessage {
  /** An alert of a check, a `notify --test`, or the daily summary. */
  kind: 'alert' | 'test' | 'summary';
  level: Level;
  /** The message as text (Slack's text, a webhook's `text`, PagerDuty's summary line). */
  text: string;
  /** An alert's facts (kind alert): what a structured channel sends beside the text. */
  facts?: AlertFacts;
  /** The daily summary's figures (kind summary), as its JSON. */
  summary?: Record<string, unknown>;
  /** The structured payload built when the alert was queued (channels/payload.ts); built if absent. */
  payload?: AlertPayload;
  /** The alert's id (the same on every channel); one is made when absent. */
  id?: string;
}

export interface Channel {
  /** `slack`, or the channel's name from alerts.channels (`webhook`, `pagerduty`, `webhook-2`, ...). */
  readonly name: string;
  readonly type: 'slack' | 'webhook' | 'pagerduty';
  /** The lowest level this channel is sent (Slack: every alert, ok included). */
  readonly minLevel: Level;
  /** A webhook with a signing secret (receivers can verify it); absent for the others. */
  readonly signed?: boolean;
  /** Deliver within `deadlineMs` (epoch ms), retrying 429 / 5xx with back-off; never rejects. */
  send(message: ChannelMessage, deadlineMs: number, signal?: AbortSignal): Promise<SendOutcome>;
}

/** A configured channel that cannot be used: its secret is missing or held badly. */
export interface BrokenChannel {
  name: string;
  type: Channel['type'];
  problem: string;
  /** Nothing set at all (an unset variable, no file): its alerts are not queued, said once. */
  missing?: boolean;
}
