import { IConstruct } from 'constructs';
import { Annotations, IAspect } from './cdk';
import { dhParameterBits, dhParameterFormat } from '../lib/model/dh';
import { lintTls, TlsFinding, TlsLintFile } from '../lib/model/tls-lint';
import { PostfixHost } from './postfix-host';
import { registerHostAspect } from './host-aspects';

/** How a TLS lint finding is reported. */
export enum TlsFindingSeverity {
  WARNING = 'warning',
  ERROR = 'error',
}

/** One TLS lint finding on a host, with its fix. */
export interface TlsLintFinding {
  /** Stable rule id, e.g. "tls-legacy-protocols". */
  readonly rule: string;
  readonly severity: TlsFindingSeverity;
  /** The parameter at fault; `service/type -o name` for a master.cf override. */
  readonly parameter: string;
  readonly value: string;
  readonly message: string;
  readonly fix: string;
}

export interface TlsLintProps {
  /** Report every finding as a synth error instead of a warning. @default false */
  readonly strict?: boolean;
  /** Rule ids to skip (see TLS_LINT_RULES). @default - none */
  readonly ignore?: string[];
}

/**
 * Aspect that checks each PostfixHost's TLS settings and annotates the host with one warning (or
 * error) per finding, each with its fix. Register it with `TlsLint.addTo(app, { strict })` (before or
 * after the stacks exist), or `Aspects.of(stack).add(new TlsLint())`. Not `Aspects.of(app)` alone: cdktf 0.21
 * invokes aspects from each stack down (synthesizer.js: invokeAspects(this.stack)), so an aspect
 * on the App is never run (checked).
 */
export class TlsLint implements IAspect {
  /**
   * Add one TlsLint for every PostfixHost under `scope` (an App, a stack or any construct), in any
   * order: stacks and hosts created after this call are covered too (see host-aspects.ts).
   */
  static addTo(scope: IConstruct, props: TlsLintProps = {}): TlsLint {
    const lint = new TlsLint(props);
    registerHostAspect(scope, lint);
    return lint;
  }

  private readonly seen = new WeakSet<PostfixHost>();

  constructor(private readonly props: TlsLintProps = {}) {}

  visit(node: IConstruct): void {
    if (!(node instanceof PostfixHost) || this.seen.has(node)) return;
    this.seen.add(node);
    for (const f of TlsLint.findings(node)) {
      if (this.props.ignore?.includes(f.rule)) continue;
      const text = formatFinding(f);
      if (f.severity === TlsFindingSeverity.ERROR || this.props.strict) Annotations.of(node).addError(text);
      else Annotations.of(node).addWarning(text);
    }
  }

  /** The findings for one host, without annotating (for tests and tools). */
  static findings(host: PostfixHost): TlsLintFinding[] {
    const state = host.builder.snapshot();
    return lintTls(state.parameters, state.services, lintFiles(state.files, state.hooks)).map((f) => ({
      ...f,
      severity: f.severity as TlsFindingSeverity,
    }));
  }
}

const DH_BLOCK = /^-----BEGIN (X9\.42 )?DH PARAMETERS-----\r?\n[A-Za-z0-9+/=\r\n]+-----END (X9\.42 )?DH PARAMETERS-----$/m;

/** DH sizes the stack knows: files it uploads with literal content, and files a hook generates. */
function lintFiles(
  files: readonly { path: string; content?: string }[],
  hooks: readonly { kind: string; path: string; bits?: number }[],
): TlsLintFile[] {
  const out: TlsLintFile[] = [];
  for (const f of files) {
    // A whole PEM block, not just the marker text (the rotation script itself mentions it).
    if (!f.content || !DH_BLOCK.test(f.content)) continue;
    try {
      out.push({ path: f.path, dhBits: dhParameterBits(f.content), dhFormat: dhParameterFormat(f.content) });
    } catch {
      // Not parseable DH parameters: nothing the DH rules can say about it.
    }
  }
  for (const h of hooks) if (h.kind === 'dhparam-generate') out.push({ path: h.path, dhBits: h.bits });
  return out;
}

export function formatFinding(f: TlsFinding | TlsLintFinding): string {
  return `[${f.rule}] ${f.parameter} = ${JSON.stringify(f.value)}: ${f.message}. Fix: ${f.fix}`;
}
