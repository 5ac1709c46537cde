import { Construct } from 'constructs';
import { PostfixConfigError } from '../lib/model/errors';
import { DEFAULT_DH_BITS, validateDhBits, validateDhPath, validateGeneration } from '../lib/model/dh';
import {
  DEFAULT_DH_SCRIPT_PATH, DH_ROTATE_SCRIPT_NAME, DhRotationTarget, renderDhCron, renderDhRotationScript, renderDhSystemdService,
  renderDhSystemdTimer,
} from '../lib/render/dh-rotation';
import { PostfixHost } from './postfix-host';

export type DhRotation = 'cron' | 'systemd' | 'none';

export interface DhParametersProps {
  /** Prime size; under 2048 is refused. @default 2048 */
  readonly bits?: number;
  /** Where the parameters live on the host. @default "<configDirectory>/dh<bits>.pem" */
  readonly path?: string;
  /**
   * "cron": an /etc/cron.d entry, active as soon as it is placed. "systemd": a .service and .timer
   * under /etc/systemd/system, which still need `systemctl daemon-reload && systemctl enable --now
   * cdktf-postfix-dh.timer` once. "none": generate once, never rotate.
   * @default "cron"
   */
  readonly rotation?: DhRotation;
  /** Cron schedule ("17 3 * * 0", "@weekly") or systemd OnCalendar ("weekly"). @default weekly */
  readonly schedule?: string;
  /** Change this value to force a new group on the next deploy. @default "1" */
  readonly generation?: string;
  /** Where the rotation script is installed. @default "/usr/local/sbin/cdktf-postfix-dh-rotate" */
  readonly scriptPath?: string;
}

/**
 * Optional custom DH group for DHE ciphers (smtpd_tls_dh1024_param_file, which despite its name
 * takes any size). Not needed with OpenSSL 3, which falls back to RFC 7919 groups; only the
 * legacyOldClients profile offers DHE ciphers at all. Generated on the host, never uploaded.
 */
export class DhParameters extends Construct {
  readonly path: string;
  readonly bits: number;
  readonly scriptPath: string;

  constructor(scope: Construct, id: string, props: DhParametersProps = {}) {
    super(scope, id);
    const host = PostfixHost.of(this);
    const where = this.node.path;
    try {
      this.bits = validateDhBits(props.bits ?? DEFAULT_DH_BITS);
      this.path = validateDhPath(props.path ?? `${host.configDirectory.replace(/\/+$/, '')}/dh${this.bits}.pem`);
      this.scriptPath = validateDhPath(props.scriptPath ?? DEFAULT_DH_SCRIPT_PATH, 'scriptPath');
      const generation = validateGeneration(props.generation ?? '1');
      const target: DhRotationTarget = { path: this.path, bits: this.bits, scriptPath: this.scriptPath, configDirectory: host.configDirectory };
      host.state.setParameter('smtpd_tls_dh1024_param_file', this.path, where);
      host.state.addHook({ kind: 'dhparam-generate', path: this.path, bits: this.bits, generation }, where);
      host.state.addFile({ path: this.scriptPath, content: renderDhRotationScript(), mode: '0755' }, where);
      for (const file of scheduleFiles(props.rotation ?? 'cron', target, props.schedule)) host.state.addFile(file, where);
    } catch (e) {
      throw e instanceof PostfixConfigError && e.where === '' ? e.at(where) : e;
    }
  }
}

function scheduleFiles(rotation: DhRotation, target: DhRotationTarget, schedule?: string): { path: string; content: string; mode: string }[] {
  const unit = DH_ROTATE_SCRIPT_NAME.replace(/-rotate$/, '');
  switch (rotation) {
    case 'none':
      return [];
    case 'cron':
      return [{ path: `/etc/cron.d/${unit}`, content: renderDhCron(target, schedule ?? '17 3 * * 0'), mode: '0644' }];
    case 'systemd':
      return [
        { path: `/etc/systemd/system/${unit}.service`, content: renderDhSystemdService(target), mode: '0644' },
        { path: `/etc/systemd/system/${unit}.timer`, content: renderDhSystemdTimer(unit, schedule ?? 'weekly'), mode: '0644' },
      ];
    default:
      throw new PostfixConfigError('', 'rotation', String(rotation), 'is not a rotation kind', 'use "cron", "systemd" or "none"');
  }
}
