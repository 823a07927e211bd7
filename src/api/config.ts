/**
 * Configuration inputs beyond the root export's `loadConfig`: parsing a config object, the defaults, credential
 * files (the `osstorchconnector` format), the credential providers' building blocks, and OSS URIs and
 * endpoints.
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { parseConfig, parseUri } from "./config.ts";
 *
 * const config = parseConfig({ datasetConfig: { prefetchConcurrency: 8 } }, "config.json");
 * expect(config.datasetConfig.prefetchConcurrency).toBe(8);
 * expect(parseUri("oss://data/train/0.bin")).toMatchObject({ bucket: "data", key: "train/0.bin" });
 * ```
 *
 * @module
 */
export {
  type CheckpointConfig,
  type DatasetConfig,
  defaultConfig,
  type LogLevel,
  parseConfig,
  type ParseConfigOptions,
} from "../config.ts";
export {
  type DefaultCredentialsOptions,
  type FileCredentialsOptions,
  loadCredentialFile,
  parseCredentialFile,
} from "../credential_file.ts";
export { SafeCredentials, toCredentialsProvider } from "../credentials.ts";
export {
  formatUri,
  type ObjectUri,
  parsePrefixUri,
  parseUri,
  type ParseUriOptions,
  type UriScheme,
} from "../uri.ts";
export {
  defaultRegion,
  type Endpoint,
  objectUrl,
  parseEndpoint,
  type ParseEndpointOptions,
  regionFromEndpoint,
} from "../endpoint.ts";
