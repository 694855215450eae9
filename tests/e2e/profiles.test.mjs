// User profiles (Tencent's profile service): the unmodified official Web SDK
// 3.6.6 (getMyProfile, getUserProfile, updateMyProfile), the native
// protocol (getUserProfile, updateMyProfile) and REST (profile/portrait_get,
// portrait_set) on one durable store, against a real chatd.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startChatd, appConfig } from './lib/chatd.mjs';
import { sharedChatd } from './lib/sdk.mjs';

const env = sharedChatd();
const { sdk, native, servers } = env;

const pick = (p) => ({ nick: p.nick, avatar: p.avatar, gender: p.gender, selfSignature: p.selfSignature,
  birthday: p.birthday, profileCustomField: p.profileCustomField });

test('SDK: updateMyProfile, then getMyProfile on a new device and getUserProfile of another user see it', async () => {
  const alice = await sdk('pf-alice');
  const empty = await alice.call('api', { method: 'getMyProfile' });
  assert.equal(empty.code, 0, JSON.stringify(empty));
  assert.equal(empty.data.userID, 'pf-alice');
  assert.equal(empty.data.nick, '');
  const update = {
    nick: 'Alice', avatar: 'https://example.test/a.png', gender: 'Gender_Type_Female', selfSignature: 'hello',
    birthday: 20000101, profileCustomField: [{ key: 'Tag_Profile_Custom_Hobby', value: 'chess' }],
  };
  const set = await alice.call('api', { method: 'updateMyProfile', options: update });
  assert.equal(set.code, 0, JSON.stringify(set));
  const again = await sdk('pf-alice');
  const mine = await again.call('api', { method: 'getMyProfile' });
  assert.deepEqual(pick(mine.data), update);
  const bob = await sdk('pf-bob');
  const theirs = await bob.call('api', { method: 'getUserProfile', options: { userIDList: ['pf-alice', 'pf-nobody'] } });
  assert.equal(theirs.code, 0, JSON.stringify(theirs));
  assert.deepEqual(theirs.data.map((p) => p.userID), ['pf-alice'], 'a user who is no account is left out');
  assert.deepEqual(pick(theirs.data[0]), update);
  for (const d of [alice, again, bob]) assert.deepEqual(d.events.filter((e) => e.event === 'ERROR'), []);
});

test('SDK: a bad profile field is refused with Tencent\'s code and nothing is stored', async () => {
  const carol = await sdk('pf-carol');
  // The SDK checks a nick's length itself (2721) and sends nothing; chatd
  // checks what it is sent: a custom field over 500 bytes.
  const nick = await carol.call('api', { method: 'updateMyProfile', options: { nick: 'n'.repeat(501) } });
  assert.equal(nick.code, 2721, JSON.stringify(nick));
  const tooLong = await carol.call('api', { method: 'updateMyProfile',
    options: { nick: 'ok', profileCustomField: [{ key: 'Tag_Profile_Custom_Bio', value: 'b'.repeat(501) }] } });
  assert.equal(tooLong.code, 40601, JSON.stringify(tooLong));
  const mine = await carol.call('api', { method: 'getMyProfile' });
  assert.equal(mine.data.nick, '');
});

test('native: updateMyProfile and getUserProfile by tag; the SDK reads what native wrote', async () => {
  const dave = await native('pf-dave');
  const profile = { Tag_Profile_IM_Nick: 'Dave', Tag_Profile_IM_Level: 3, Tag_Profile_Custom_Team: 'blue' };
  assert.equal((await dave.request('updateMyProfile', { profile })).code, 0);
  assert.equal((await dave.request('updateMyProfile', { profile: { Tag_Profile_IM_Nick: 'Dave 2' } })).code, 0);
  const read = await dave.request('getUserProfile', { userIDList: ['pf-dave', 'pf-nobody'] });
  assert.equal(read.code, 0, JSON.stringify(read));
  assert.deepEqual(read.data.profiles, [{ userID: 'pf-dave', profile: { ...profile, Tag_Profile_IM_Nick: 'Dave 2' } }]);
  const bad = [
    [{ profile: { Tag_Profile_IM_Gender: 'male' } }, 40001],
    [{ profile: { Tag_Profile_IM_Unknown: 'x' } }, 40009],
    [{ profile: { Tag_Profile_IM_AdminForbidType: 'AdminForbid_Type_None' } }, 40008],
    [{ profile: { Tag_Profile_IM_Image: 'x'.repeat(501) } }, 40601],
    [{ profile: {} }, 40001],
    [{}, 40001],
  ];
  for (const [data, code] of bad) assert.equal((await dave.request('updateMyProfile', data)).code, code, JSON.stringify(data));
  assert.equal((await dave.request('getUserProfile', { userIDList: 'pf-dave' })).code, 2017);
  const erin = await sdk('pf-erin');
  const seen = await erin.call('api', { method: 'getUserProfile', options: { userIDList: ['pf-dave'] } });
  assert.equal(seen.data[0].nick, 'Dave 2');
  assert.equal(seen.data[0].level, 3);
  assert.deepEqual(seen.data[0].profileCustomField, [{ key: 'Tag_Profile_Custom_Team', value: 'blue' }]);
});

test('REST: portrait_set and portrait_get (TagList, ResultCode 40003 for a user who is no account), durable across a restart', async () => {
  const s = await startChatd({ apps: [appConfig()] });
  servers.push(s);
  assert.equal((await s.rest('im_open_login_svc/account_import', { UserID: 'pf-frank' })).body.ErrorCode, 0);
  const set = await s.rest('profile/portrait_set', {
    From_Account: 'pf-frank', ProfileItem: [{ Tag: 'Tag_Profile_IM_Nick', Value: 'Frank' }, { Tag: 'Tag_Profile_IM_Language', Value: 2 }],
  });
  assert.equal(set.body.ErrorCode, 0, JSON.stringify(set.body));
  const unknown = await s.rest('profile/portrait_set', { From_Account: 'pf-nobody', ProfileItem: [{ Tag: 'Tag_Profile_IM_Nick', Value: 'x' }] });
  assert.equal(unknown.body.ErrorCode, 40003);
  const dir = s.keep();
  await s.stop('SIGKILL');
  const again = await startChatd({ dir });
  servers.push(again);
  const get = await again.rest('profile/portrait_get', { To_Account: ['pf-frank', 'pf-nobody'], TagList: ['Tag_Profile_IM_Nick'] });
  assert.equal(get.body.ErrorCode, 0, JSON.stringify(get.body));
  assert.deepEqual(get.body.UserProfileItem.map((i) => [i.To_Account, i.ProfileItem, i.ResultCode]), [
    ['pf-frank', [{ Tag: 'Tag_Profile_IM_Nick', Value: 'Frank' }], 0],
    ['pf-nobody', [], 40003],
  ]);
  const all = await again.rest('profile/portrait_get', { To_Account: ['pf-frank'], TagList: [] });
  assert.deepEqual(all.body.UserProfileItem[0].ProfileItem, [
    { Tag: 'Tag_Profile_IM_Language', Value: 2 }, { Tag: 'Tag_Profile_IM_Nick', Value: 'Frank' },
  ]);
  assert.equal((await again.rest('profile/portrait_get', { To_Account: [], TagList: [] })).body.ErrorCode, 70402);
});
