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
  /** y/n; `-` when undefined. */
  readonly private?: boolean;
  readonly unpriv?: boolean;
  readonly chroot?: boolean;
  /** Wakeup time in seconds; a trailing `?` in Postfix syntax is expressed by wakeupIfUsed. */
  readonly wakeup?: number;
  readonly wakeupIfUsed?: boolean;
  /** Process limit; 0 means no limit. */
  readonly maxproc?: number;
  /** Command name, e.g. smtpd, cleanup, pipe. */
  readonly command: string;
  /** Command arguments other than `-o` overrides (e.g. pipe's flags= argv=...). */
  readonly args?: readonly string[];
  /** `-o name=value` overrides, rendered in key order. */
  readonly options?: Readonly<Record<string, string>>;
}

export function serviceKey(spec: Pick<MasterServiceSpec, 'name' | 'type'>): string {
  return `${spec.name}/${spec.type}`;
}
