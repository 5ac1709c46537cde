/** Custom DH parameters as the builder takes them: the parameter, the generation hook and the rotation files. */
import { BundleHook } from '../model/bundle';
import { DEFAULT_DH_BITS, validateDhBits, validateDhPath, validateGeneration } from '../model/dh';
import { PostfixConfigError } from '../model/errors';
import { DesiredFile } from '../model/host-state';
import {
  DEFAULT_DH_SCRIPT_PATH,
  DH_ROTATE_SCRIPT_NAME,
  DhRotationTarget,
  renderDhCron,
  renderDhRotationScript,
  renderDhSystemdService,
  renderDhSystemdTimer,
} from '../render/dh-rotation';
import { DhRotation } from './vocabulary';

export { DhRotation } from './vocabulary';

export interface DhParametersProps {
  /** Prime size; under 2048 is refused. @default 2048 */
  readonly bits?: number;
  /** Where the parameters live on the host. @default "<configDirectory>/dh<bits>.pem" */
  readonly path?: string;
  /**
   * "cron": an /etc/cron.d entry, active as soon as it is placed. "systemd": a .service and .timer
   * under /etc/systemd/system, which still need `systemctl daemon-reload && systemctl enable --now
   * cdktf-postfix-dh.timer` once. "none": generate once, never rotate.
   * @default DhRotation.CRON
   */
  readonly rotation?: DhRotation;
  /** Cron schedule ("17 3 * * 0", "@weekly") or systemd OnCalendar ("weekly"). @default weekly */
  readonly schedule?: string;
  /** Change this value to force a new group on the next deploy. @default "1" */
  readonly generation?: string;
  /** Where the rotation script is installed. @default "/usr/local/sbin/cdktf-postfix-dh-rotate" */
  readonly scriptPath?: string;
}

export interface DhParametersPlan {
  readonly path: string;
  readonly bits: number;
  readonly scriptPath: string;
  readonly hook: BundleHook;
  readonly files: readonly DesiredFile[];
}

export function planDhParameters(where: string, configDirectory: string, props: DhParametersProps): DhParametersPlan {
  try {
    const bits = validateDhBits(props.bits ?? DEFAULT_DH_BITS);
    const path = validateDhPath(props.path ?? `${configDirectory.replace(/\/+$/, '')}/dh${bits}.pem`);
    const scriptPath = validateDhPath(props.scriptPath ?? DEFAULT_DH_SCRIPT_PATH, 'scriptPath');
    const generation = validateGeneration(props.generation ?? '1');
    const target: DhRotationTarget = { path, bits, scriptPath, configDirectory };
    const files = [
      { path: scriptPath, content: renderDhRotationScript(), mode: '0755' },
      ...scheduleFiles(props.rotation ?? DhRotation.CRON, target, props.schedule),
    ];
    return { path, bits, scriptPath, hook: { kind: 'dhparam-generate', path, bits, generation }, files };
  } catch (e) {
    throw e instanceof PostfixConfigError && e.where === '' ? e.at(where) : e;
  }
}

function scheduleFiles(rotation: DhRotation, target: DhRotationTarget, schedule?: string): DesiredFile[] {
  const unit = DH_ROTATE_SCRIPT_NAME.replace(/-rotate$/, '');
  switch (rotation) {
    case DhRotation.NONE:
      return [];
    case DhRotation.CRON:
      return [{ path: `/etc/cron.d/${unit}`, content: renderDhCron(target, schedule ?? '17 3 * * 0'), mode: '0644' }];
    case DhRotation.SYSTEMD:
      return [
        { path: `/etc/systemd/system/${unit}.service`, content: renderDhSystemdService(target), mode: '0644' },
        { path: `/etc/systemd/system/${unit}.timer`, content: renderDhSystemdTimer(unit, schedule ?? 'weekly'), mode: '0644' },
      ];
    default:
      throw new PostfixConfigError('', 'rotation', String(rotation), 'is not a rotation kind', 'use "cron", "systemd" or "none"');
  }
}
