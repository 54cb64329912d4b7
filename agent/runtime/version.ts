// The agent's version, sent in every header. Kept equal to package.json's version by a test
// (test/unit/agent/runtime/version.test.ts): the Pi bundle is built with esbuild and runs on Node 18,
// which cannot import JSON modules, so the version is a plain constant.
export const AGENT_VERSION = '0.1.0';
