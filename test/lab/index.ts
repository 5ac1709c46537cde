export { prepareLab, startLab, withLab } from './lab';
export { reapStaleLabs } from './reap';
export { LAB_BASE_DIR, LAB_SUDO_USER } from './types';
export type { Lab, LabHost, PreparedLab, StartLabOptions, ExecResult } from './types';
