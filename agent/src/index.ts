export { Agent } from './agent.ts';
export { parseConfig, parseConfigText, loadConfig, ConfigError, type AgentConfig } from './config.ts';
export { AGENT_VERSION } from './version.ts';
export { MemorySpool } from './spool/memory.ts';
