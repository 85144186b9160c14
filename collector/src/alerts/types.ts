// The alert engine's vocabulary, shared by evaluators, dispatcher, store and mails.
import type { Severity } from '@canh/protocol';
import type { Matcher } from './matchers.ts';

export const MAX_ALERT_EVENTS = 20;

export type AlertState = 'pending' | 'firing' | 'resolved';

/**
 * One episode of an alert: from the moment its condition began until it resolved. An
 * alert that fires again after resolving is a new episode, so a resolution is never
 * overwritten by the next firing (it is still owed to whoever was told it fired).
 */
export interface Alert {
  id: number;
  /** Rule and labels; at most one pending or firing episode per fingerprint. */
  fingerprint: string;
  rule: string;
  /** rule, agency (absent for province-wide alerts), then the rule's group_by values. */
  labels: Record<string, string>;
  severity: Severity;
  state: AlertState;
  /** Last value seen (threshold), seconds silent (absence), occurrences (event). */
  value: number | null;
  /** What the detector or rule said, in English; mails localise around it. */
  summary: string;
  /** When the condition began (what mails call "since"). */
  activeAt: number;
  firedAt: number | null;
  resolvedAt: number | null;
  /** Evaluator bookkeeping: last sample or event, and when the condition cleared (hold). */
  lastSampleAt: number;
  clearSince: number | null;
  /** Extra details for mails (hosts of a cross-host alert, the event message...). */
  details: Record<string, string>;
  /** Event rules: the episode's distinct events (see AlertEvents). */
  events?: AlertEvents;
}

/** One distinct security event of an event rule's episode, as mails list it. */
export interface AlertEvent {
  /** What makes it distinct: type and its identifying evidence (source, account, file...). */
  key: string;
  /** When it happened (the event's own time) and when the collector saw it. */
  at: number;
  seenAt: number;
  severity: Severity;
  message: string;
  /** Evidence, bounded in keys and length. */
  evidence: Record<string, string>;
  /** Seen later than max_sample_age after it happened. */
  late: boolean;
  /** The event's type, count and technique, so a mail can say it in the reader's language
   *  (absent in alerts stored before they were kept). */
  type?: string;
  count?: number;
  mitre?: string;
  /** Not yet in a notification of its group: the dispatcher owes a mail for it. */
  news: boolean;
}

/**
 * Events are not states: each new distinct event of an open episode is notified. The
 * list keeps the newest MAX_ALERT_EVENTS; `total` counts every distinct one the episode had.
 */
export interface AlertEvents {
  list: AlertEvent[];
  total: number;
}

export interface Silence {
  id: string;
  matchers: Matcher[];
  createdBy: string;
  comment: string;
  startsAt: number;
  endsAt: number;
  createdAt: number;
}

export interface GroupState {
  key: string;
  labels: Record<string, string>;
  createdAt: number;
  /** First notification not before this (group_wait). */
  waitUntil: number;
  lastFlushAt: number | null;
}

export interface NotifiedState {
  firingSentAt: number | null;
  resolvedSentAt: number | null;
}

export interface OutboxMail {
  id: number;
  createdAt: number;
  to: string;
  subject: string;
  text: string;
  html: string;
  headers: Record<string, string>;
  messageId: string;
  attempts: number;
  nextAttemptAt: number;
  lastError: string | null;
  state: 'queued' | 'sent' | 'failed';
  sentAt: number | null;
}

export type NewMail = Pick<OutboxMail, 'to' | 'subject' | 'text' | 'html' | 'headers'>;

/** Agent liveness as the engine last knew it (survives a collector restart). */
export interface AgentLiveness {
  host: string;
  agency: string;
  site: string;
  online: boolean;
  since: number;
}
