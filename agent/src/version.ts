// The agent's version, reported in hello and in `canh-agent --version`.
export const AGENT_VERSION = '0.1.0';
