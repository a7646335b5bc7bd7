import path from 'node:path';
import { Option, type Command } from 'commander';
import { ExitCode, usageError } from '../../errors.js';
import { parseDuration } from '../../util/duration.js';
import { untilAborted } from '../../util/sleep.js';
import type { CommandModule } from '../registry.js';

const command: CommandModule = {
  configure(cmd: Command) {
    cmd
      .description('Run the local Alibaba Cloud emulator (RAM, ECI, VPC, ECS; signatures verified, real error codes) on 127.0.0.1 ' +
        'in the foreground. It first prints export lines that point vnode and the SDKs at it. Ctrl-C stops it.')
      .addOption(new Option('--port <n>', 'port to listen on (default: a free one)'))
      .addOption(new Option('--state <file>', 'JSON file holding the state; created and seeded when missing (default: in memory)'))
      .addOption(new Option('--ready-delay <duration>', 'how long a new virtual node stays Pending before it connects').default('2s'))
      .addOption(new Option('--cluster-admin-kubeconfig <path>', 'admin kubeconfig of the cluster, used only to act as vnode-approver'))
      .addOption(new Option('--release-delay <duration>', 'how long ECI keeps an instance after its pod is gone').default('3s'))
      .addOption(new Option('--faults <spec>', 'inject faults, e.g. "*:throttle=0.1,500=0.05,503=0.05,reset=0.05;CreateAccessKey:latency=2s"'));
  },
  async run(ctx, _args, raw) {
    const port = raw.port === undefined ? 0 : Number(raw.port);
    if (!Number.isInteger(port) || port < 0 || port > 65535) throw usageError('InvalidPort', `invalid --port "${String(raw.port)}": expected 0-65535`);
    const { parseFaults } = await import('../../sandbox/cloud/faults.js');
    const faults = raw.faults === undefined ? new Map() : parseFaults(String(raw.faults));
    const { startSandboxCloud } = await import('../../sandbox/cloud-sandbox.js');
    const stateFile = raw.state === undefined ? undefined : path.resolve(ctx.cwd, String(raw.state));
    const admin = raw.clusterAdminKubeconfig === undefined ? undefined : path.resolve(ctx.cwd, String(raw.clusterAdminKubeconfig));
    const emu = await startSandboxCloud({
      port, faults, readyDelayMs: parseDuration('--ready-delay', String(raw.readyDelay)), releaseDelayMs: parseDuration('--release-delay', String(raw.releaseDelay)), ...(stateFile ? { stateFile } : {}), ...(admin ? { adminKubeconfig: admin } : {}),
      log: (l) => ctx.out.debug(l),
    });
    for (const [k, v] of Object.entries(emu.env())) ctx.out.print(`export ${k}=${v}`);
    ctx.out.info(`cloud emulator listening on ${emu.endpoint}${stateFile ? ` (state in ${stateFile})` : ''}; Ctrl-C to stop`);
    await untilAborted(ctx.signal);
    await emu.stop();
    ctx.out.info('cloud emulator stopped');
    // a foreground server ends only by a signal, and says so as its exit status
    return ExitCode.interrupted;
  },
};

export default command;
