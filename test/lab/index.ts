export { startLab, withLab, reapStaleLabs, LAB_BASE_DIR, LAB_SUDO_USER } from "./lab";
export type { Lab, LabHost, StartLabOptions, ExecResult } from "./lab";
