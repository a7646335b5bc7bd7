import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { connectCloud } from '../../src/cloud/index.js';
import { connectCluster } from '../../src/cluster/kube.js';
import type { ClusterPort, KubeObject } from '../../src/cluster/port.js';
import { startCloudEmulator, type CloudEmulator } from '../../src/sandbox/cloud/server.js';
import { parseFaults } from '../../src/sandbox/cloud/faults.js';
import { startTestControlPlane } from '../helpers/controlplane.js';
import { runVnode, type RunResult } from '../helpers/run.js';

type CP = Awaited<ReturnType<typeof startTestControlPlane>>;
const signal = new AbortController().signal;

describe('vnode ram grant / revoke and secret create (SDKs against the emulator, Secret in a real cluster)', () => {
  let cp: CP;
  let emu: CloudEmulator;
  let admin: ClusterPort;
  let expectedUser: string;
  const outputs: RunResult[] = [];
  const secretsSeen = new Set<string>();
  let maxKeys = 0;

  /** Set by a test that interrupts a run after its n-th change. */
  let onAction: ((action: string, code: string) => void) | undefined;
  const watch = (a: string, c: string, state: CloudEmulator['state']): void => {
    onAction?.(a, c);
    for (const k of state.data.accessKeys) secretsSeen.add(k.secret);
    const perUser = new Map<string, number>();
    for (const k of state.data.accessKeys) if (k.user) perUser.set(k.user, (perUser.get(k.user) ?? 0) + 1);
    maxKeys = Math.max(maxKeys, ...perUser.values(), 0);
  };

  async function vk(args: string[], opts: { env?: Record<string, string>; stdin?: string } = {}): Promise<RunResult> {
    const r = await runVnode(['--kubeconfig', cp.kubeconfig, ...args], { cwd: cp.workDir, env: { ...emu.env(), ...opts.env }, ...(opts.stdin !== undefined ? { stdin: opts.stdin } : {}) });
    outputs.push(r);
    return r;
  }

  /** An existing key of another RAM user (a team's ECI key): what `secret create` is for. */
  const EXT = { user: 'team-eci', id: 'LTAI5tTeamEciKey000001', secret: 'TeamEciSecret0000000000000000a' };
  const ours = () => emu.state.data.users.filter((u) => u.name !== EXT.user);
  /** The team's user and key, for the tests of `secret create` only (the others count users, keys and attachments). */
  const addExt = (): void => {
    const at = new Date().toISOString();
    emu.state.data.users.push({ name: EXT.user, id: '203456789012345678', displayName: EXT.user, comments: '', createDate: at });
    emu.state.data.accessKeys.push({ id: EXT.id, secret: EXT.secret, user: EXT.user, status: 'Active', createDate: at });
    emu.state.data.attachments.push({ user: EXT.user, policyName: 'AliyunECIFullAccess', policyType: 'System', attachDate: at });
  };
  const dropExt = (): void => {
    emu.state.data.users = emu.state.data.users.filter((u) => u.name !== EXT.user);
    emu.state.data.accessKeys = emu.state.data.accessKeys.filter((k) => k.user !== EXT.user);
    emu.state.data.attachments = emu.state.data.attachments.filter((a) => a.user !== EXT.user);
  };

  async function addonSecret(): Promise<{ id: string; secret: string } | undefined> {
    const s = await admin.get<KubeObject>({ apiVersion: 'v1', kind: 'Secret', namespace: 'kube-system', name: 'alibaba-addon-secret' });
    if (!s) return undefined;
    const d = s.data as Record<string, string>;
    return { id: Buffer.from(d['access-key-id']!, 'base64').toString(), secret: Buffer.from(d['access-key-secret']!, 'base64').toString() };
  }

  before(async () => {
    cp = await startTestControlPlane();
    emu = await startCloudEmulator({ onRequest: watch });
    admin = await connectCluster({ kubeconfig: cp.kubeconfig, context: undefined }, { env: {}, cwd: cp.workDir });
    const ns = await admin.get<KubeObject>({ apiVersion: 'v1', kind: 'Namespace', name: 'kube-system' });
    expectedUser = `vnode-addon-${createHash('sha256').update(ns!.metadata.uid!).digest('hex').slice(0, 8)}`;
  });
  after(async () => {
    await emu?.stop();
    await cp?.stop();
  });

  it('without a terminal and without --yes, attaching a policy is refused before any change', async () => {
    const r = await vk(['ram', 'grant']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /broadens its permissions\. — no terminal to ask on\n.*--yes/);
    // the read-only look-ups ran; nothing was created
    assert.equal(ours().length, 0);
    assert.equal(emu.state.data.policies.length, 0);
    assert.equal(await addonSecret(), undefined);
  });

  it('--dry-run shows the plan and changes nothing', async () => {
    const r = await vk(['ram', 'grant', '--dry-run']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`RAM user ${expectedUser} would be created`));
    assert.match(r.stdout, /No changes were applied/);
    assert.equal(ours().length, 0);
  });

  it('grant creates the user, the least-privilege policy and a working key in the Secret', async () => {
    const r = await vk(['ram', 'grant', '--yes']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`RAM policy vnode-ack-virtual-node granted to RAM user ${expectedUser} successfully\\.`));
    assert.match(r.stdout, /AccessKey LTAI\w+ created and stored in Secret kube-system\/alibaba-addon-secret\./);
    const key = await addonSecret();
    assert.ok(key);
    // the key works for what the addon does, and for nothing else
    const asAddon = connectCloud({ profile: undefined, region: undefined, accessKey: key }, { env: emu.env(), signal, log: () => {} });
    assert.deepEqual(await asAddon.eci.describeContainerGroups({}), []);
    await assert.rejects(asAddon.eci.describeVirtualNodes({}), /permission denied for eci:DescribeVirtualNodes/);
    await assert.rejects(asAddon.ram.listAccessKeys(expectedUser), (e: Error & { hint?: string }) => /ram:ListAccessKeys/.test(e.message) && /AliyunRAMReadOnlyAccess/.test(e.hint ?? ''));
    const secret = await admin.get<KubeObject>({ apiVersion: 'v1', kind: 'Secret', namespace: 'kube-system', name: 'alibaba-addon-secret' });
    assert.equal(secret?.metadata.labels?.['app.kubernetes.io/managed-by'], 'vnode');
  });

  it('grant twice converges: one user, one key, each policy attached once, same key in the Secret', async () => {
    const before = await addonSecret();
    const r = await vk(['ram', 'grant', '--yes', '-o', 'json']);
    assert.equal(r.code, 0, r.stderr);
    const j = JSON.parse(r.stdout) as { accessKey: { action: string }; policies: { action: string }[] };
    assert.equal(j.accessKey.action, 'kept');
    assert.deepEqual(j.policies.map((p) => p.action), ['already attached']);
    assert.equal(ours().length, 1);
    assert.equal(emu.state.data.accessKeys.filter((k) => k.user === expectedUser).length, 1);
    assert.equal(emu.state.data.attachments.length, 1);
    assert.deepEqual(await addonSecret(), before);
  });

  it('--rotate-key: a new key in the Secret, the old one gone, never more than 2 keys', async () => {
    const before = await addonSecret();
    maxKeys = 0;
    const r = await vk(['ram', 'grant', '--yes', '--rotate-key']);
    assert.equal(r.code, 0, r.stderr);
    const after = await addonSecret();
    assert.notEqual(after?.id, before?.id);
    const keys = emu.state.data.accessKeys.filter((k) => k.user === expectedUser);
    assert.deepEqual(keys.map((k) => k.id), [after!.id]);
    assert.ok(maxKeys <= 2, `at most 2 keys during rotation, saw ${maxKeys}`);
  });

  it('at the 2-key limit with neither key in the Secret: only a key vnode created is deleted to make room, with --rotate-key', async () => {
    // a second key made elsewhere (older), and a Secret that no longer names a live key
    emu.state.data.accessKeys.push({ id: 'LTAI5tElsewhere0000001', secret: 'x'.repeat(30), user: expectedUser, status: 'Active', createDate: '2020-01-01T00:00:00Z' });
    const ref = { apiVersion: 'v1', kind: 'Secret', namespace: 'kube-system', name: 'alibaba-addon-secret' };
    await admin.patch(ref, { data: { 'access-key-id': Buffer.from('LTAI5tGoneGoneGone0001').toString('base64') } }, 'merge');
    const ours = emu.state.data.accessKeys.find((k) => k.user === expectedUser && k.id !== 'LTAI5tElsewhere0000001')!.id;
    const r = await vk(['ram', 'grant', '--yes']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /already has 2 AccessKeys \(the limit\): /);
    assert.match(r.stderr, new RegExp(`pass --rotate-key: vnode deletes ${ours}, which it created and nothing uses`));
    // were the record gone (a Secret written by someone else), vnode would delete neither key
    const record = (await admin.get<KubeObject>(ref))!.metadata.annotations!['vnode.dev/created-access-keys']!;
    assert.ok(record.split(',').includes(ours), record);
    await admin.patch(ref, { metadata: { annotations: { 'vnode.dev/created-access-keys': '' } } }, 'merge');
    assert.ok(await admin.delete({ apiVersion: 'v1', kind: 'ConfigMap', namespace: 'kube-system', name: 'vnode-ram-keys' }), 'the record is kept apart from the Secret too');
    const none = await vk(['ram', 'grant', '--yes', '--rotate-key']);
    assert.equal(none.code, 1);
    assert.match(none.stderr, /vnode created none that is unused, so it deletes none of them/);
    assert.equal(emu.state.data.accessKeys.filter((k) => k.user === expectedUser).length, 2, 'nothing deleted');
    await admin.patch(ref, { metadata: { annotations: { 'vnode.dev/created-access-keys': record } } }, 'merge');

    const fixed = await vk(['ram', 'grant', '--yes', '--rotate-key']);
    assert.equal(fixed.code, 0, fixed.stderr);
    const keys = emu.state.data.accessKeys.filter((k) => k.user === expectedUser);
    assert.equal(keys.length, 2);
    assert.ok(keys.some((k) => k.id === 'LTAI5tElsewhere0000001'), 'the key vnode did not create stays');
    assert.ok(!keys.some((k) => k.id === ours), 'the unused key vnode created made room');
    assert.ok(keys.some((k) => k.id === (fixed.stdout.match(/AccessKey (LTAI\w+) created and stored/)?.[1] ?? '')));
  });

  it('revoke deletes only the keys vnode created and says which it left; --delete-user keeps a user with other keys', async () => {
    const mine = (await addonSecret())!.id;
    const r = await vk(['ram', 'revoke']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`AccessKey ${mine} deleted \\(vnode created it\\)`));
    assert.match(r.stdout, /AccessKey LTAI5tElsewhere0000001 kept: a key of RAM user vnode-addon-\w+ that vnode did not create/);
    assert.equal(emu.state.data.attachments.length, 0);
    assert.equal(await addonSecret(), undefined);
    assert.deepEqual(emu.state.data.accessKeys.filter((k) => k.user === expectedUser).map((k) => k.id), ['LTAI5tElsewhere0000001']);
    const keep = await vk(['ram', 'revoke', '--user', expectedUser, '--delete-user']);
    assert.equal(keep.code, 0, keep.stderr);
    assert.match(keep.stdout, /RAM user vnode-addon-\w+ kept: it still has AccessKey\(s\) vnode did not create: LTAI5tElsewhere0000001/);
    emu.state.data.accessKeys = emu.state.data.accessKeys.filter((k) => k.user !== expectedUser);
    const del = await vk(['ram', 'revoke', '--user', expectedUser, '--delete-user']);
    assert.equal(del.code, 0, del.stderr);
    assert.equal(ours().length, 0);
    const again = await vk(['ram', 'revoke', '--user', expectedUser]);
    assert.equal(again.code, 0);
    assert.match(again.stdout, /already revoked/);
  });

  it('with 20% throttling/5xx/resets on every action, grant and revoke succeed and never make a second key', async () => {
    for (const [k, v] of parseFaults('*:throttle=0.08,500=0.04,503=0.04,reset=0.04')) emu.faults.set(k, v);
    maxKeys = 0;
    try {
      const faultCount = (): number => [...emu.stats.entries()].filter(([k]) => /Throttling|InternalError|ServiceUnavailable|reset/.test(k)).reduce((a, [, n]) => a + n, 0);
      const before = faultCount();
      // at least two runs, and as many more as it takes for faults to have hit (randomness must not decide the test)
      for (let i = 0; i < 2 || (faultCount() - before < 3 && i < 20); i++) {
        const g = await vk(['ram', 'grant', '--yes', '--policy', 'AliyunECIFullAccess']);
        assert.equal(g.code, 0, g.stderr);
        assert.equal(maxKeys, 1, 'one key, even with retries');
      }
      assert.ok(faultCount() - before >= 3, 'faults were injected');
      const r = await vk(['ram', 'revoke', '--delete-user']);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(ours().length, 0);
      assert.equal(emu.state.data.accessKeys.filter((k) => k.user !== null && k.user !== EXT.user).length, 0);
    } finally {
      emu.faults.clear();
    }
  });

  it('secret create: the secret comes from stdin, is verified, and a wrong one is refused with nothing written; the account\'s key and the caller\'s own are refused', async () => {
    addExt();
    try {
      const bad = await vk(['secret', 'create', '--access-key-id', EXT.id], { stdin: 'WrongSecretWrongSecret00\n', env: { ALIBABA_CLOUD_ACCESS_KEY_SECRET: '' } });
      assert.equal(bad.code, 1);
      assert.match(bad.stderr, /does not work/);
      assert.equal(await addonSecret(), undefined);
      const ok = await vk(['secret', 'create', '--access-key-id', EXT.id], { stdin: `${EXT.secret}\n`, env: { ALIBABA_CLOUD_ACCESS_KEY_SECRET: '' } });
      assert.equal(ok.code, 0, ok.stderr);
      assert.match(ok.stdout, /Wrote Secret kube-system\/alibaba-addon-secret with AccessKey \w+ \(verified\)/);
      assert.deepEqual(await addonSecret(), { id: EXT.id, secret: EXT.secret });
      // the account's own key (GetCallerIdentity: IdentityType Account), even with --yes: exit 2, the Secret untouched
      const op = emu.state.operatorKey;
      const account = await vk(['secret', 'create', '--access-key-id', op.id, '--yes'], { stdin: `${op.secret}\n`, env: { ALIBABA_CLOUD_ACCESS_KEY_ID: EXT.id, ALIBABA_CLOUD_ACCESS_KEY_SECRET: EXT.secret } });
      assert.equal(account.code, 2, account.stderr);
      assert.match(account.stderr, /is the Alibaba Cloud account's own key \(acs:ram::\d+:root\)/);
      assert.match(account.stderr, /vnode ram grant/);
      // the caller's own key, the one in its environment (as the issue's `--access-key-id "$ALIBABA_CLOUD_ACCESS_KEY_ID" </dev/null`)
      const own = await vk(['secret', 'create', '--access-key-id', op.id, '--yes']);
      assert.equal(own.code, 2, own.stderr);
      assert.match(own.stderr, /is the key vnode itself runs with \(ALIBABA_CLOUD_ACCESS_KEY_ID\): the add-on would act as you/);
      // another key of the caller's own RAM user: the same identity, told by GetCallerIdentity
      const second = { id: 'LTAI5tTeamEciKey000002', secret: 'TeamEciSecret0000000000000000b' };
      emu.state.data.accessKeys.push({ ...second, user: EXT.user, status: 'Active', createDate: new Date().toISOString() });
      const mine = await vk(['secret', 'create', '--access-key-id', second.id, '--yes'], { stdin: `${second.secret}\n`, env: { ALIBABA_CLOUD_ACCESS_KEY_ID: EXT.id, ALIBABA_CLOUD_ACCESS_KEY_SECRET: EXT.secret } });
      assert.equal(mine.code, 2, mine.stderr);
      assert.match(mine.stderr, /belongs to you, the identity vnode runs as \(acs:ram::\d+:user\/team-eci\)/);
      emu.state.data.accessKeys = emu.state.data.accessKeys.filter((k) => k.id !== second.id);
      assert.deepEqual(await addonSecret(), { id: EXT.id, secret: EXT.secret }, 'the Secret is untouched');
      const none = await vk(['secret', 'create', '--access-key-id', EXT.id], { env: { ALIBABA_CLOUD_ACCESS_KEY_SECRET: '' } });
      assert.equal(none.code, 2);
      assert.match(none.stderr, /standard input was empty: no AccessKey secret was piped/);
      const blank = await vk(['secret', 'create', '--access-key-id', EXT.id], { stdin: '   \n', env: { ALIBABA_CLOUD_ACCESS_KEY_SECRET: '' } });
      assert.equal(blank.code, 2);
      assert.match(blank.stderr, /standard input was empty/);
      await admin.delete({ apiVersion: 'v1', kind: 'Secret', namespace: 'kube-system', name: 'alibaba-addon-secret' });
    } finally {
      dropExt();
    }
  });

  it('after secret create with a key vnode did not create (replacing ram grant\'s only when confirmed), revoke --delete-user deletes vnode\'s key, never that one, and says so', async () => {
    addExt();
    try {
      const g = await vk(['ram', 'grant', '--yes']);
      assert.equal(g.code, 0, g.stderr);
      const vnodeKey = (await addonSecret())!.id;
      const asked = await vk(['secret', 'create', '--access-key-id', EXT.id], { stdin: `${EXT.secret}\n` });
      assert.equal(asked.code, 2, asked.stderr);
      assert.match(asked.stderr, new RegExp(`holds AccessKey ${vnodeKey}: replace it with ${EXT.id}\\? — no terminal to ask on`));
      assert.equal((await addonSecret())!.id, vnodeKey, 'not replaced without confirmation');
      const sc = await vk(['secret', 'create', '--access-key-id', EXT.id, '--yes'], { stdin: `${EXT.secret}\n` });
      assert.equal(sc.code, 0, sc.stderr);
      assert.equal((await addonSecret())!.id, EXT.id);
      const r = await vk(['ram', 'revoke', '--delete-user']);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, new RegExp(`AccessKey ${vnodeKey} deleted \\(vnode created it\\)`));
      assert.match(r.stdout, new RegExp(`AccessKey ${EXT.id} kept: the key in the Secret, not a key of RAM user ${expectedUser}`));
      assert.match(r.stdout, new RegExp(`RAM user ${expectedUser} deleted`));
      assert.ok(emu.state.data.accessKeys.some((k) => k.id === EXT.id && k.user === EXT.user), 'that key is untouched');
      assert.equal(ours().length, 0);
      assert.equal(emu.state.data.accessKeys.filter((k) => k.user !== null && k.user !== EXT.user).length, 0);
    } finally {
      dropExt();
    }
  });

  it('secret create: piped stdin wins over ALIBABA_CLOUD_ACCESS_KEY_SECRET; the variable of another key is refused', async () => {
    addExt();
    try {
      const op = emu.state.operatorKey;
      // the operator's own credentials are in the environment (as here); the addon's secret is piped
      const piped = await vk(['secret', 'create', '--access-key-id', EXT.id, '--yes'], { stdin: `${EXT.secret}\n`, env: { ALIBABA_CLOUD_ACCESS_KEY_SECRET: 'NotTheSecretOfThisKey000' } });
      assert.equal(piped.code, 0, piped.stderr);
      assert.match(piped.stderr, /from standard input \(ALIBABA_CLOUD_ACCESS_KEY_SECRET is set too and is ignored\)/);
      assert.deepEqual(await addonSecret(), { id: EXT.id, secret: EXT.secret });
      await admin.delete({ apiVersion: 'v1', kind: 'Secret', namespace: 'kube-system', name: 'alibaba-addon-secret' });
      const other = await vk(['secret', 'create', '--access-key-id', 'LTAI5tSomeOtherKey00001']);
      assert.equal(other.code, 2);
      assert.match(other.stderr, new RegExp(`ALIBABA_CLOUD_ACCESS_KEY_SECRET belongs to ALIBABA_CLOUD_ACCESS_KEY_ID ${op.id}, not to --access-key-id LTAI5tSomeOtherKey00001`));
      assert.equal(await addonSecret(), undefined);
    } finally {
      dropExt();
    }
  });

  it('vnode\'s record of its keys survives the Secret being deleted and the same key written back: rotation and revoke still delete it', async () => {
    const g = await vk(['ram', 'grant', '--yes']);
    assert.equal(g.code, 0, g.stderr);
    const key = (await addonSecret())!;
    await admin.delete({ apiVersion: 'v1', kind: 'Secret', namespace: 'kube-system', name: 'alibaba-addon-secret' });
    const sc = await vk(['secret', 'create', '--access-key-id', key.id], { stdin: `${key.secret}\n`, env: { ALIBABA_CLOUD_ACCESS_KEY_SECRET: '' } });
    assert.equal(sc.code, 0, sc.stderr);
    const rot = await vk(['ram', 'grant', '--yes', '--rotate-key']);
    assert.equal(rot.code, 0, rot.stderr);
    assert.doesNotMatch(rot.stderr, /was not created by vnode/);
    const now = (await addonSecret())!;
    assert.notEqual(now.id, key.id);
    assert.deepEqual(emu.state.data.accessKeys.filter((k) => k.user === expectedUser).map((k) => k.id), [now.id], 'the old key was deleted');
    const r = await vk(['ram', 'revoke', '--delete-user']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`AccessKey ${now.id} deleted \\(vnode created it\\)`));
    assert.equal(ours().length, 0);
  });

  it('an interrupt after any change of grant (and --rotate-key) loses no record: the re-run converges and revoke leaves nothing vnode granted', async () => {
    const CHANGES = new Set(['CreateUser', 'CreatePolicy', 'AttachPolicyToUser', 'CreateAccessKey', 'DeleteAccessKey']);
    let cases = 0;
    for (const rotate of [false, true]) {
      for (let k = 1; ; k++) {
        const user = `vnode-int-${rotate ? 'r' : 'g'}${k}`;
        const args = ['--kubeconfig', cp.kubeconfig, 'ram', 'grant', '--user', user, '--policy', 'AliyunECIFullAccess', '--policy', 'vnode-ack-virtual-node', '--yes'];
        if (rotate) assert.equal((await vk(args.slice(2))).code, 0);
        const ctl = new AbortController();
        let changes = 0;
        onAction = (action, code) => { if (CHANGES.has(action) && code === 'OK' && ++changes === k) ctl.abort(); };
        const r = await runVnode(rotate ? [...args, '--rotate-key'] : args, { cwd: cp.workDir, env: emu.env(), signal: ctl.signal });
        onAction = undefined;
        outputs.push(r);
        const reached = ctl.signal.aborted;
        assert.ok(reached ? [0, 130].includes(r.code) : r.code === 0, r.stderr);
        if (reached) {
          cases++;
          if (r.code === 130) {
            assert.match(r.stderr, /interrupted (during|before) "[^"]+"; done: Reading RAM user/);
            assert.match(r.stderr, /recorded in the cluster before each change/);
          }
          const again = await vk(args.slice(2));
          assert.equal(again.code, 0, again.stderr);
        }
        const rv = await vk(['ram', 'revoke', '--user', user, '--delete-user', '--yes']);
        assert.equal(rv.code, 0, rv.stderr);
        assert.deepEqual(emu.state.data.attachments.filter((a) => a.user === user), [], `after an interrupt at change ${k}${rotate ? ' (rotation)' : ''}: a policy is still attached\n${rv.stdout}`);
        assert.deepEqual(emu.state.data.accessKeys.filter((a) => a.user === user).map((a) => a.id), [], `after an interrupt at change ${k}: a key is left`);
        assert.ok(!emu.state.data.users.some((u) => u.name === user), `after an interrupt at change ${k}: the user is left\n${rv.stdout}`);
        if (!reached) break;
      }
    }
    assert.ok(cases >= 6, `interrupted at ${cases} points`);
  });

  it('revoke prunes vnode\'s records; --delete-user also deletes the policy vnode created once nothing else has it attached, or says why it stays', async () => {
    const ledger = async (name: string): Promise<Record<string, string>> => (await admin.get<KubeObject>({ apiVersion: 'v1', kind: 'ConfigMap', namespace: 'kube-system', name }))?.data as Record<string, string> ?? {};
    assert.equal((await vk(['ram', 'grant', '--user', 'prune-me', '--yes'])).code, 0);
    assert.ok((await ledger('vnode-ram-keys'))['prune-me']);
    assert.ok((await ledger('vnode-ram-policies'))['prune-me']);
    // another user holds vnode's policy: it stays, and revoke says why
    const { ram } = connectCloud({ profile: undefined, region: undefined }, { env: emu.env(), signal: new AbortController().signal, log: () => {} });
    await ram.ensureUser('other-holder', 'x', 'not vnode\'s');
    await ram.attachPolicyToUser('other-holder', { name: 'vnode-ack-virtual-node', type: 'Custom' });
    const kept = await vk(['ram', 'revoke', '--user', 'prune-me', '--delete-user', '--force']);
    assert.equal(kept.code, 0, kept.stderr);
    assert.match(kept.stdout, /RAM user prune-me deleted/);
    assert.match(kept.stdout, /RAM policy vnode-ack-virtual-node kept: still attached to RAM user other-holder/);
    assert.equal((await ledger('vnode-ram-keys'))['prune-me'], undefined, 'the key record is pruned');
    assert.equal((await ledger('vnode-ram-policies'))['prune-me'], undefined, 'the policy record is pruned');
    assert.ok(emu.state.data.policies.some((p) => p.name === 'vnode-ack-virtual-node'));
    // once nothing else has it: a re-run deletes it
    await ram.detachPolicyFromUser('other-holder', { name: 'vnode-ack-virtual-node', type: 'Custom' });
    const gone = await vk(['ram', 'revoke', '--user', 'prune-me', '--delete-user', '--force']);
    assert.equal(gone.code, 0, gone.stderr);
    assert.match(gone.stdout, /RAM policy vnode-ack-virtual-node deleted/);
    assert.ok(!emu.state.data.policies.some((p) => p.name === 'vnode-ack-virtual-node'));
  });

  it('no output stream of any run contains an AccessKey secret', () => {
    assert.ok(secretsSeen.size >= 3);
    for (const r of outputs) {
      for (const s of secretsSeen) {
        assert.ok(!r.stdout.includes(s) && !r.stderr.includes(s), 'an AccessKey secret was printed');
      }
    }
  });
});
