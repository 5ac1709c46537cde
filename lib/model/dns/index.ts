/** DNS records a mail host needs, and DKIM key helpers. Pure TypeScript: no cdktf, no I/O. */
export * from './built';
export * from './names';
export * from './record';
export * from './mx';
export * from './spf';
export * from './dmarc';
export * from './dkim-keys';
export * from './dkim';
export * from './tlsa';
export * from './mta-sts';
export * from './opendkim';
export * from './mail-host';
