export { loadConfig, CONFIG_FILE_NAMES } from './load.js';
export { parseConfig } from './parse.js';
export { renderInitConfig } from './init.js';
export {
  checkAppName,
  checkHostname,
  checkProcessType,
  checkVariableName,
  parseDuration,
  parseHostUrl,
  parseMemory,
  type HostUrl,
} from './validators.js';
export * from './types.js';
