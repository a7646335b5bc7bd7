import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import csSdk from '@alicloud/cs20151215';
import eciSdk from '@alicloud/eci20180808';
import ramSdk from '@alicloud/ram20150501';

/**
 * Tea models keep only the fields their class declares ($tea.cast drops the rest), and their index signature hides a
 * misspelt or missing field from tsc. So: every field vnode reads from a response must be in the model's names().
 */
type ModelClass = { names(): Record<string, string> };
const SOURCES: { file: string; variable: string; model: ModelClass; within: string }[] = [
  { file: 'src/cloud/eci.ts', within: 'describeVirtualNodes', variable: 'v', model: eciSdk.DescribeVirtualNodesResponseBodyVirtualNodes },
  { file: 'src/cloud/eci.ts', within: 'describeVirtualNodes', variable: 'e', model: eciSdk.DescribeVirtualNodesResponseBodyVirtualNodesEvents },
  { file: 'src/cloud/eci.ts', within: 'describeContainerGroups', variable: 'c', model: eciSdk.DescribeContainerGroupsResponseBodyContainerGroups },
  { file: 'src/cloud/eci.ts', within: 'describeContainerGroups', variable: 'r.body', model: eciSdk.DescribeContainerGroupsResponseBody },
  { file: 'src/cloud/eci.ts', within: 'describeVirtualNodes', variable: 'r.body', model: eciSdk.DescribeVirtualNodesResponseBody },
  { file: 'src/cloud/eci.ts', within: 'createVirtualNode', variable: 'r.body', model: eciSdk.CreateVirtualNodeResponseBody },
];

/** The text of one method of the file, from its name to the next method at the same indentation. */
function methodText(source: string, name: string): string {
  const start = source.search(new RegExp(`\\n  (async )?${name}\\(`));
  assert.ok(start >= 0, `no method ${name}`);
  const rest = source.slice(start + 1);
  const end = rest.slice(1).search(/\n {2}(async |private |get )?[a-zA-Z]+\(/);
  return end < 0 ? rest : rest.slice(0, end + 1);
}

function fieldsRead(text: string, variable: string): string[] {
  const re = new RegExp(`(?<![\\w.])${variable.replace('.', '\\??\\.')}\\??\\.([a-zA-Z]+)`, 'g');
  return [...new Set([...text.matchAll(re)].map((m) => m[1]!))];
}

describe('response fields vnode reads exist in the SDK models', () => {
  for (const s of SOURCES) {
    it(`${s.within}: ${s.variable}.* are fields of the model`, () => {
      const fields = fieldsRead(methodText(readFileSync(s.file, 'utf8'), s.within), s.variable);
      assert.ok(fields.length > 0, `found no ${s.variable}.<field> in ${s.within}`);
      const known = Object.keys(s.model.names());
      const unknown = fields.filter((f) => !known.includes(f));
      assert.deepEqual(unknown, [], `read but not in the model (always undefined): ${unknown.join(', ')}`);
    });
  }

  it('the check catches a field the model does not have (ZoneId on a virtual node)', () => {
    const known = Object.keys(eciSdk.DescribeVirtualNodesResponseBodyVirtualNodes.names());
    assert.equal(known.includes('zoneId'), false);
    assert.deepEqual(fieldsRead('const a = v.zoneId ?? v?.status;', 'v'), ['zoneId', 'status']);
  });

  it('RAM models: the user and access key fields vnode reads', () => {
    const text = readFileSync('src/cloud/ram.ts', 'utf8');
    const pairs: [string, ModelClass][] = [['userName', ramSdk.GetUserResponseBodyUser], ['accessKeyId', ramSdk.ListAccessKeysResponseBodyAccessKeysAccessKey]];
    for (const [field, model] of pairs) {
      assert.ok(text.includes(`.${field}`), field);
      assert.ok(Object.keys(model.names()).includes(field), field);
    }
  });
});

describe('RAM policy templates name only actions the APIs have', () => {
  const methodOf = (action: string): string => action.charAt(0).toLowerCase() + action.slice(1);
  it('the addon policy is the documented list; actions the public ECI SDK lacks are only the known internal ones (a warning, not a filter)', async (t) => {
    const { actionsOf, policyDocument, INTERNAL_ECI_ACTIONS } = await import('../../src/steps/ram/ram.js');
    const actions = actionsOf(policyDocument());
    const notInSdk = actions.filter((a) => !a.startsWith('eci:') || typeof (eciSdk.default.prototype as unknown as Record<string, unknown>)[methodOf(a.slice(4))] !== 'function');
    if (notInSdk.length) t.diagnostic(`not public ECI SDK operations (documented for virtual nodes, kept): ${notInSdk.join(', ')}`);
    // a misspelt action would be neither: it fails here
    assert.deepEqual(notInSdk.filter((a) => !INTERNAL_ECI_ACTIONS.includes(a)), []);
    for (const a of ['eci:CreateContainerGroup', 'eci:CreateContainerGroupFromTemplate', 'eci:UpdateContainerGroupByTemplate', 'eci:ExportContainerGroupTemplate']) assert.ok(actions.includes(a), a);
  });

  it('the operator policy: eci and ram actions are SDK operations; vpc and ecs ones are the calls vnode makes', async () => {
    const { actionsOf, operatorPolicyDocument } = await import('../../src/steps/ram/ram.js');
    const calls = readFileSync('src/cloud/vpc.ts', 'utf8') + readFileSync('src/cloud/ecs.ts', 'utf8');
    for (const a of actionsOf(operatorPolicyDocument())) {
      const [svc, op] = a.split(':') as [string, string];
      // the RAM action UpgradeClusterAddons' page names (the SDK operation is upgradeClusterAddons, also listed)
      if (a === 'cs:UpgradeK8sComponents') continue;
      if (svc === 'cs') assert.equal(typeof (csSdk.default.prototype as unknown as Record<string, unknown>)[methodOf(op)], 'function', a);
      else if (svc === 'eci') assert.equal(typeof (eciSdk.default.prototype as unknown as Record<string, unknown>)[methodOf(op)], 'function', a);
      // not an API vnode calls: ECI checks it on the account's first CreateVirtualNode (its service-linked role)
      else if (a === 'ram:CreateServiceLinkedRole') continue;
      else if (svc === 'ram') assert.equal(typeof (ramSdk.default.prototype as unknown as Record<string, unknown>)[methodOf(op)], 'function', a);
      else assert.ok(calls.includes(`'${op}'`), `${a} is not a call of src/cloud/vpc.ts or ecs.ts`);
    }
  });
});
