import { resolveCloudConfig, type CloudTarget } from './config.js';
import { credentialFor } from './credentials.js';
import type { CloudPorts, CsPort, EciPort, EcsPort, RamPort, ResourceManagerPort, StsPort, VpcPort } from './port.js';
import type { SdkContext } from './sdk.js';

/** Loads only the SDK a port needs, on its first use (each costs 0.2-0.8 s to import). */
function lazy<T extends object>(load: () => Promise<T>): T {
  let instance: Promise<T> | undefined;
  return new Proxy({} as T, {
    get(_t, prop) {
      return async (...args: unknown[]) => {
        instance ??= load();
        const target = await instance;
        return (target as Record<string | symbol, (...a: unknown[]) => unknown>)[prop]!.apply(target, args);
      };
    },
  });
}

export function connectCloud(target: CloudTarget, opts: { env: NodeJS.ProcessEnv; signal: AbortSignal; log: (m: string) => void }): CloudPorts {
  const env = target.accessKey
    ? { ...opts.env, ALIBABA_CLOUD_ACCESS_KEY_ID: target.accessKey.id, ALIBABA_CLOUD_ACCESS_KEY_SECRET: target.accessKey.secret, ALIBABA_CLOUD_SECURITY_TOKEN: '' }
    : opts.env;
  const config = resolveCloudConfig(target, env);
  const { credential, source } = credentialFor(config.profile, !target.accessKey && target.profile !== undefined, env);
  const ctx: SdkContext = { config, credential, signal: opts.signal, log: opts.log };
  opts.log(`cloud: region ${config.regionId}, credentials from ${source}`);
  return {
    regionId: config.regionId,
    credentialSource: source,
    ram: lazy<RamPort>(async () => new (await import('./ram.js')).SdkRam(ctx)),
    eci: lazy<EciPort>(async () => new (await import('./eci.js')).SdkEci(ctx)),
    vpc: lazy<VpcPort>(async () => new (await import('./vpc.js')).SdkVpc(ctx)),
    ecs: lazy<EcsPort>(async () => new (await import('./ecs.js')).SdkEcs(ctx)),
    cs: lazy<CsPort>(async () => new (await import('./cs.js')).SdkCs(ctx)),
    rm: lazy<ResourceManagerPort>(async () => new (await import('./resourcemanager.js')).SdkResourceManager(ctx)),
    sts: lazy<StsPort>(async () => new (await import('./sts.js')).SdkSts(ctx)),
  };
}
