/**
 * The bundle: the desired state of one Postfix host as plain JSON. It is the only thing that crosses
 * from synth time (constructs, render) to apply time (lib/apply, the runner, the CLI). It never holds
 * connection secrets; connection details travel separately (see lib/apply/connection.ts).
 */
import { PostfixConfigError } from './errors';

/**
 * The bundle's schema version, written into every bundle as `format`. Bump it (and teach the runner
 * the new shape) whenever a runner of the previous version could misread a new bundle.
 */
export const BUNDLE_FORMAT = 'cdktf-postfix/1';

/** The schema versions this runner applies. */
export const KNOWN_BUNDLE_FORMATS: readonly string[] = [BUNDLE_FORMAT];

/**
 * Refuses a bundle of a schema this runner does not know (one written by a newer or older
 * cdktf-postfix), naming both versions and the fix, before anything reaches the host.
 */
export function checkBundleFormat(where: string, format: unknown): void {
  if (typeof format === 'string' && KNOWN_BUNDLE_FORMATS.includes(format)) return;
  const fix =
    're-synthesize the stack with the installed cdktf-postfix (cdktf synth), or install the cdktf-postfix version that wrote the bundle';
  if (typeof format !== 'string' || !/^cdktf-postfix\/\d+$/.test(format)) {
    throw new PostfixConfigError(
      where,
      'format',
      format === undefined || typeof format === 'string' ? format : JSON.stringify(format),
      `not a cdktf-postfix bundle schema; this runner reads ${KNOWN_BUNDLE_FORMATS.join(', ')}`,
      fix,
    );
  }
  const age = Number(format.split('/')[1]) > Number(BUNDLE_FORMAT.split('/')[1]) ? 'a newer' : 'an older';
  throw new PostfixConfigError(
    where,
    'format',
    format,
    `the bundle was written by ${age} cdktf-postfix with schema ${format}, but the installed runner reads schema ${KNOWN_BUNDLE_FORMATS.join(', ')}`,
    fix,
  );
}

/** Lookup table types whose source must be compiled with postmap before Postfix can read it. */
export const INDEXED_TABLE_TYPES = ['hash', 'btree', 'lmdb', 'cdb'] as const;
export type IndexedTableType = (typeof INDEXED_TABLE_TYPES)[number];

export interface BundleFile {
  /** Octal permission string, e.g. "0644". */
  readonly mode: string;
  readonly owner: string;
  readonly group: string;
  /** sha256 (hex) of the file content; absent only for fromEnv files (known at apply time). */
  readonly sha256?: string;
  readonly size?: number;
  /** UTF-8 content for small files. Exactly one of content, asset and fromEnv is set. */
  readonly content?: string;
  /** For large files: name of a file that sits beside bundle.json and holds the content. */
  readonly asset?: string;
  /**
   * For secrets (private keys) and values known only at apply time: the name of an environment
   * variable of the runner that holds the content. Terraform resolves it; it never enters the bundle.
   */
  readonly fromEnv?: string;
  /** Compile with `postmap TYPE:PATH` after placing (indexed tables). */
  readonly postmap?: IndexedTableType;
  /** Compile with `postalias TYPE:PATH` after placing (aliases(5) files: `name: value`). */
  readonly postalias?: IndexedTableType;
}

export interface Bundle {
  readonly format: typeof BUNDLE_FORMAT;
  /** Construct path of the host, for messages and the managed record. */
  readonly host: string;
  /** Postfix config directory on the host, normally /etc/postfix. */
  readonly configDirectory: string;
  readonly mainCf: {
    /** parameter name -> value, sorted by name. */
    readonly set: Record<string, string>;
    /** parameters to remove from main.cf even though this stack never set them, sorted. */
    readonly remove: string[];
  };
  readonly masterCf: {
    /** "service/type" -> full master.cf entry on one line, sorted by key. */
    readonly set: Record<string, string>;
    /** "service/type" entries to remove even though this stack never set them, sorted. */
    readonly remove: string[];
  };
  /** absolute path on the host -> file, sorted by path. */
  readonly files: Record<string, BundleFile>;
  /** Lookup table types the host must support (postconf -m), sorted. */
  readonly tableTypes: string[];
  /** Debian packages the apply may install when a table type is missing (opt-in), sorted. */
  readonly installPackages: string[];
  /** Commands the host runs after files are placed and before validation (e.g. DH generation). */
  readonly hooks: BundleHook[];
  /** Directories (or exact paths) besides configDirectory where files may be written, sorted; absent: none. */
  readonly fileRoots?: string[];
  /** TLS probes the runner makes right after each apply (absent: none). */
  readonly tlsChecks?: TlsCheckSpec[];
}

export interface TlsCheckSpec {
  readonly port: number;
  readonly mode: 'starttls' | 'implicit';
  readonly minProtocol: 'TLSv1.2' | 'TLSv1.3';
}

/**
 * A fixed, named action the remote transaction knows how to run. Hooks are data, never shell text:
 * the remote script maps each kind to its own code. A hook runs when its path is missing or its
 * generation (with bits) differs from the last run's; hooks run in bundle order (sorted), after
 * files are placed and before main.cf and master.cf go live.
 *   dhparam-generate  path: the DH file; bits.
 *   dkim-keygen       path: the DKIM private key (generated on the host, owner opendkim, 0600); bits.
 *   service-restart   path: the daemon's configuration file (supported: .../opendkim.conf).
 */
export interface BundleHook {
  readonly kind: 'dhparam-generate' | 'dkim-keygen' | 'service-restart';
  /** Absolute path the hook writes (or, for service-restart, the configuration it starts from). */
  readonly path: string;
  /** Bits for DH or DKIM key generation. */
  readonly bits?: number;
  /** Regenerate even if the file exists (bumped to force a rotation). */
  readonly generation?: string;
  /**
   * Bundle files whose content decides the generation: the runner folds their sha256 (known at apply
   * time, also for fromEnv secrets) into it, so the hook runs again whenever one of them changes.
   */
  readonly watch?: string[];
}
