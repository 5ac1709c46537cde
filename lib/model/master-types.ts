/** The master.cf service vocabulary shared by the model, the renderer and the constructs. */
export const SERVICE_TYPES = ['inet', 'unix', 'unix-dgram', 'fifo', 'pass'] as const;
export type ServiceType = (typeof SERVICE_TYPES)[number];

/**
 * One master.cf entry: `service type private unpriv chroot wakeup maxproc command args`.
 * Column values left undefined render as `-` (Postfix's default for that column).
 */
export interface MasterServiceSpec {
  /** Service name, or for inet services `[host:]port`/a name from /etc/services, e.g. `submission`, `127.0.0.1:10025`. */
  readonly name: string;
  readonly type: ServiceType;
  /** @default "-" (Postfix: y) */
  readonly private?: boolean;
  /** @default "-" (Postfix: y) */
  readonly unpriv?: boolean;
  /** @default "-" (Postfix 3.x: n) */
  readonly chroot?: boolean;
  /** Wakeup time in seconds; a trailing `?` in Postfix syntax is expressed by wakeupIfUsed. @default "-" (never) */
  readonly wakeup?: number;
  /** @default false */
  readonly wakeupIfUsed?: boolean;
  /** Process limit; 0 means no limit. @default "-" (default_process_limit) */
  readonly maxproc?: number;
  /** Command name, e.g. smtpd, cleanup, pipe. */
  readonly command: string;
  /** Command arguments other than `-o` overrides (e.g. pipe's flags= argv=...). @default - none */
  readonly args?: readonly string[];
  /** `-o name=value` overrides, rendered in key order. @default - none */
  readonly options?: Readonly<Record<string, string>>;
}

export function serviceKey(spec: Pick<MasterServiceSpec, 'name' | 'type'>): string {
  return `${spec.name}/${spec.type}`;
}
