/**
 * Closed vocabularies of the construct props, as enums: jsii (the bridge to Python, Go, Java and C#)
 * has no string-literal unions, so each one the props take is an enum here. Each value is the
 * literal the engine (lib/model) uses, so an enum member is accepted wherever that union is, and a
 * plain string from JavaScript is still validated at synth (field, value and fix in the error).
 */

/** master(5) service types (the `type` column). */
export enum ServiceType {
  INET = 'inet',
  UNIX = 'unix',
  UNIX_DGRAM = 'unix-dgram',
  FIFO = 'fifo',
  PASS = 'pass',
}

/** access(5) table types this library supports (postconf -m lists what a host has). */
export enum AccessTableType {
  /** Debian's default_database_type. */
  HASH = 'hash',
  LMDB = 'lmdb',
  CDB = 'cdb',
  BTREE = 'btree',
  TEXTHASH = 'texthash',
  CIDR = 'cidr',
  REGEXP = 'regexp',
  PCRE = 'pcre',
}

/** Regular-expression table types for header_checks(5): regexp_table(5) or pcre_table(5). */
export enum RegexTableType {
  REGEXP = 'regexp',
  PCRE = 'pcre',
}

/** Where a check_*_access goes in its restriction list. */
export enum Placement {
  FIRST = 'first',
  LAST = 'last',
  /** Right after reject_unauth_destination when the list has one, else last. */
  AFTER_RELAY_CHECK = 'afterRelayCheck',
}

/** TLS profiles after Mozilla's server-side TLS guideline 6.0 (see TlsPolicyProps.profile). */
export enum TlsProfile {
  INTERMEDIATE = 'intermediate',
  MODERN = 'modern',
  LEGACY_OLD_CLIENTS = 'legacyOldClients',
}

/** Lowest TLS protocol version the after-apply probe accepts. */
export enum TlsProtocol {
  TLS_V1_2 = 'TLSv1.2',
  TLS_V1_3 = 'TLSv1.3',
}

/** How DH parameters are regenerated on the host. */
export enum DhRotation {
  CRON = 'cron',
  SYSTEMD = 'systemd',
  NONE = 'none',
}

/** Where local(8) found a destination: aliases, a ~/.forward file, or a :include: file. */
export enum DeliverySource {
  ALIAS = 'alias',
  FORWARD = 'forward',
  INCLUDE = 'include',
}

/** SASL implementations smtpd(8) can use (smtpd_sasl_type). */
export enum SaslType {
  DOVECOT = 'dovecot',
  CYRUS = 'cyrus',
}

/** The Terraform resource that applies a host. */
export enum HostResourceType {
  /** Built into Terraform: nothing to download. */
  TERRAFORM_DATA = 'terraform_data',
  /** Needs the hashicorp/null provider. */
  NULL_RESOURCE = 'null_resource',
}

/** What an SMTP endpoint is for (the port's role, RFC 6409 and RFC 8314). */
export enum SmtpServiceKind {
  /** MTA to MTA (port 25): where the MX record points. */
  SMTP = 'smtp',
  /** Message submission with STARTTLS (port 587). */
  SUBMISSION = 'submission',
  /** Message submission over implicit TLS (port 465). */
  SUBMISSIONS = 'submissions',
}

/** How an SMTP endpoint speaks TLS (postconf(5) smtpd_tls_security_level, smtpd_tls_wrappermode). */
export enum SmtpTlsMode {
  /** No TLS offered (level none). */
  NONE = 'none',
  /** STARTTLS offered, not required (level may). */
  STARTTLS = 'starttls',
  /** STARTTLS required before MAIL FROM (level encrypt). */
  STARTTLS_REQUIRED = 'starttls-required',
  /** TLS from the first byte (smtpd_tls_wrappermode = yes). */
  IMPLICIT = 'implicit',
  /** Not decided by the stack: the host's own main.cf says (Debian's stock main.cf: may), or a deploy-time value. */
  HOST = 'host',
}
