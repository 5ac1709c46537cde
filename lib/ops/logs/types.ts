/** Options for analysing Postfix logs. */
export interface LogReportOptions {
  /** Year of the first year-less (traditional syslog) timestamp; default: the current year, or last year when that line's month is after the current month. */
  year?: number;
  /** Keep only lines at or after this time (inclusive). See parseTimeOption for accepted forms. */
  since?: Date;
  /** Keep only lines before this time (exclusive). */
  until?: Date;
  /** Count mails per recipient address at exactly this domain (case-insensitive). */
  toDomain?: string;
  /** Length of the "top" lists (senders, recipients, domains, sentPerRecipient); 0 = all. Default 10. */
  top?: number;
  /** Lines longer than this (UTF-16 code units) are cut to this length before parsing. Default 65536. */
  maxLineLength?: number;
  /** How many sample lines to keep per kind of unparsed line. Default 5. */
  samples?: number;
  /** Clock used for relative times and the default year (tests). */
  now?: Date;
  /**
   * Reading large plain files on several threads (regular files only; stdin, streams and gzip are
   * read on one). The result is the same as reading sequentially.
   */
  parallel?: {
    /** Threads, the calling one included; default: available CPUs (at most 8); 1 = sequential. */
    workers?: number;
    /** Inputs smaller than this many bytes are read on one thread. Default 64 MiB. */
    minBytes?: number;
    /** Largest piece, in bytes; pieces are read in rounds of `workers`, which bounds memory. Default 48 MiB. */
    segmentBytes?: number;
    /** Read the pieces one after the other on the calling thread, through the same split and merge (tests). */
    inline?: boolean;
  };
}

/** A count under a key, possibly with sub-keys (detail reports). */
export interface Tally {
  key: string;
  count: number;
  items?: Tally[];
}

export interface GrandTotals {
  received: number;
  delivered: number;
  forwarded: number;
  /** Messages deferred at least once (one per queue ID). */
  deferred: number;
  /** `status=deferred` lines (every retry). */
  deferrals: number;
  bounced: number;
  rejected: number;
  /** rejected / (delivered + rejected + discarded), integer percent as pflogsumm prints it. */
  rejectedPercent: number;
  rejectWarnings: number;
  held: number;
  discarded: number;
  discardedPercent: number;
  bytesReceived: number;
  bytesDelivered: number;
  senders: number;
  sendingHostsDomains: number;
  recipients: number;
  recipientHostsDomains: number;
}

export interface TrafficCounts {
  received: number;
  delivered: number;
  deferred: number;
  bounced: number;
  rejected: number;
}

export interface PerDay extends TrafficCounts {
  date: string;
}

export interface PerHour extends TrafficCounts {
  hour: number;
}

export interface AddressStat {
  key: string;
  count: number;
  bytes: number;
}

export interface RecipientDomainStat extends AddressStat {
  deferrals: number;
  /** Longest delay (seconds) seen for a delivery or deferral to this domain. */
  maxDelay: number;
}

export interface ToDomainAddress {
  address: string;
  /** sent + forwarded + bounced + expired: final outcomes for this address. */
  mails: number;
  sent: number;
  forwarded: number;
  bounced: number;
  /** `status=deferred` lines (retries), not messages. */
  deferrals: number;
}

export interface UnparsedKind {
  count: number;
  samples: string[];
}

export interface LogReport {
  grandTotals: GrandTotals;
  /** Events pflogsumm does not put in its grand totals. */
  events: {
    expired: number;
    removed: number;
    postsuperDeleted: number;
    postsuperRequeued: number;
    warnings: number;
    errors: number;
    fatals: number;
    panics: number;
    /** Deliveries whose message size was not in the log (sender line outside the window). */
    deliveriesWithoutSize: number;
  };
  perDay: PerDay[];
  /** Totals per hour of day (not averaged; divide by perDay.length for a daily average). */
  perHour: PerHour[];
  senders: { byCount: AddressStat[]; bySize: AddressStat[] };
  recipients: { byCount: AddressStat[]; bySize: AddressStat[] };
  senderDomains: { byCount: AddressStat[]; bySize: AddressStat[] };
  recipientDomains: { byCount: RecipientDomainStat[]; bySize: RecipientDomainStat[] };
  /** `status=sent` lines per recipient address, forwards included (the seed page's second question). */
  sentPerRecipient: Array<{ key: string; count: number }>;
  /** Present when toDomain was asked for (the seed page's first question). */
  toDomain: { domain: string; mails: number; addresses: ToDomainAddress[] } | null;
  deferralDetail: Tally[];
  bounceDetail: Tally[];
  rejectDetail: Tally[];
  rejectWarningDetail: Tally[];
  holdDetail: Tally[];
  discardDetail: Tally[];
  warningDetail: Tally[];
  fatalDetail: Tally[];
  panicDetail: Tally[];
  /** Syslog name instances seen (`postfix`, `postfix-out`, ...) with line counts. */
  instances: Tally[];
  input: {
    /** Inputs in the order they were read (files are put in chronological order first). */
    sources: string[];
    lines: number;
    postfixLines: number;
    /** Lines dropped by since/until. */
    outsideWindow: number;
    /** Empty lines and journalctl markers. */
    skipped: number;
    /** Lines cut to maxLineLength. */
    longLines: number;
    first: string | null;
    last: string | null;
  };
  unparsed: {
    garbage: UnparsedKind;
    nonPostfix: UnparsedKind;
    unrecognisedPostfix: UnparsedKind;
  };
}
