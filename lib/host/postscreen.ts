/**
 * postscreen(8) in front of port 25, as the builder takes it. master.cf (master(5), POSTSCREEN_README):
 * `smtp inet ... postscreen` takes the port, hands clients that pass to `smtpd pass ... smtpd`, with
 * `dnsblog` for DNSBL lookups and `tlsproxy` for STARTTLS before the hand-off. main.cf: the pregreet
 * test (postscreen_greet_wait, postscreen_greet_action) and optional weighted DNSBL sites
 * (postscreen_dnsbl_sites `domain[=filter]*weight`, postscreen_dnsbl_threshold), postconf(5).
 */
import { PostfixConfigError } from '../model/errors';
import { MasterServiceSpec } from '../model/master-types';
import { validateDomain } from '../model/dns';

export interface PostscreenDnsblSite {
  /** The DNSBL zone, e.g. zen.spamhaus.org. */
  readonly domain: string;
  /** Only these reply addresses count, e.g. "127.0.0.[2..11]" (postconf(5) postscreen_dnsbl_sites). @default - any reply */
  readonly filter?: string;
  /** Score a listing adds; negative for allowlists (e.g. list.dnswl.org*-5). @default 1 */
  readonly weight?: number;
}

export interface PostscreenProps {
  /** How long postscreen waits before its 220 greeting, listening for clients that talk first (postscreen_greet_wait). @default "6s" */
  readonly greetWait?: string;
  /** What a client that talks before the greeting gets: "enforce" (550 after RCPT, logged), "drop" (554 and disconnect) or "ignore". @default "enforce" */
  readonly greetAction?: string;
  /** DNSBL sites with weights. @default - none (no DNS lookups) */
  readonly dnsblSites?: PostscreenDnsblSite[];
  /** Score at which a client is blocked (postscreen_dnsbl_threshold). @default 1 */
  readonly dnsblThreshold?: number;
  /** "enforce", "drop" or "ignore" (postscreen_dnsbl_action). @default "enforce" */
  readonly dnsblAction?: string;
  /** Run postscreen, smtpd, dnsblog and tlsproxy chrooted (Debian's master.cf does; the jail must exist). @default true */
  readonly chroot?: boolean;
}

export interface PostscreenPlan {
  readonly services: readonly MasterServiceSpec[];
  readonly parameters: Readonly<Record<string, string>>;
}

const ACTIONS = ['enforce', 'drop', 'ignore'];

export function planPostscreen(where: string, props: PostscreenProps): PostscreenPlan {
  try {
    return plan(props);
  } catch (e) {
    throw e instanceof PostfixConfigError && e.where === '' ? e.at(where) : e;
  }
}

function plan(props: PostscreenProps): PostscreenPlan {
  const chroot = props.chroot ?? true;
  const services: MasterServiceSpec[] = [
    { name: 'smtp', type: 'inet', private: false, chroot, maxproc: 1, command: 'postscreen' },
    { name: 'smtpd', type: 'pass', chroot, command: 'smtpd' },
    { name: 'dnsblog', type: 'unix', chroot, maxproc: 0, command: 'dnsblog' },
    { name: 'tlsproxy', type: 'unix', chroot, maxproc: 0, command: 'tlsproxy' },
  ];
  const parameters: Record<string, string> = {
    postscreen_greet_wait: checkTime(props.greetWait ?? '6s'),
    postscreen_greet_action: checkAction('greetAction', props.greetAction ?? 'enforce'),
  };
  const sites = props.dnsblSites ?? [];
  if (sites.length) {
    parameters.postscreen_dnsbl_sites = sites.map(siteSpec).join(', ');
    parameters.postscreen_dnsbl_threshold = String(checkThreshold(props.dnsblThreshold ?? 1, sites));
    parameters.postscreen_dnsbl_action = checkAction('dnsblAction', props.dnsblAction ?? 'enforce');
  } else if (props.dnsblThreshold !== undefined || props.dnsblAction !== undefined) {
    throw new PostfixConfigError(
      '',
      'Postscreen.dnsblThreshold',
      String(props.dnsblThreshold ?? props.dnsblAction),
      'is set without any dnsblSites',
      'add dnsblSites, or leave the DNSBL settings out',
    );
  }
  return { services, parameters };
}

function siteSpec(site: PostscreenDnsblSite, i: number): string {
  const domain = validateDomain(site.domain, `Postscreen.dnsblSites[${i}].domain`);
  const filter = site.filter === undefined ? '' : `=${checkFilter(site.filter, i)}`;
  const weight = site.weight ?? 1;
  if (!Number.isInteger(weight) || weight === 0 || Math.abs(weight) > 100) {
    throw new PostfixConfigError(
      '',
      `Postscreen.dnsblSites[${i}].weight`,
      String(weight),
      'is not a whole number from -100 to 100 other than 0',
      'use e.g. 3 for a strong list, 1 for a weak one, -5 for an allowlist',
    );
  }
  return weight === 1 ? `${domain}${filter}` : `${domain}${filter}*${weight}`;
}

/** postconf(5): a reply filter is an address pattern such as 127.0.0.2, 127.0.0.[2..11] or 127.0.0.[2;4;6]. */
function checkFilter(filter: string, i: number): string {
  if (!/^(\d{1,3}|\[\d{1,3}(\.\.\d{1,3}|(;\d{1,3})*)\])(\.(\d{1,3}|\[\d{1,3}(\.\.\d{1,3}|(;\d{1,3})*)\])){3}$/.test(filter)) {
    throw new PostfixConfigError(
      '',
      `Postscreen.dnsblSites[${i}].filter`,
      filter,
      'is not a DNSBL reply pattern',
      'use an address such as 127.0.0.2, or a range 127.0.0.[2..11]',
    );
  }
  return filter;
}

function checkThreshold(threshold: number, sites: readonly PostscreenDnsblSite[]): number {
  const reachable = sites.reduce((sum, s) => sum + Math.max(0, s.weight ?? 1), 0);
  if (!Number.isInteger(threshold) || threshold < 1 || threshold > reachable) {
    throw new PostfixConfigError(
      '',
      'Postscreen.dnsblThreshold',
      String(threshold),
      `is not a whole number from 1 to ${reachable} (the sum of the positive site weights): no listing could reach it`,
      'lower the threshold or raise the weights',
    );
  }
  return threshold;
}

function checkTime(value: string): string {
  if (!/^\d{1,4}[smh]?$/.test(value) || /^0+[smh]?$/.test(value)) {
    throw new PostfixConfigError(
      '',
      'Postscreen.greetWait',
      value,
      'is not a positive Postfix time value',
      'use e.g. "6s" (the default) or "2s"',
    );
  }
  return value;
}

function checkAction(field: string, value: string): string {
  if (!ACTIONS.includes(value))
    throw new PostfixConfigError('', `Postscreen.${field}`, value, 'is not a postscreen action', 'use enforce, drop or ignore');
  return value;
}
