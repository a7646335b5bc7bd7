import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
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
