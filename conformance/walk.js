// Conformance walk: the official Node Kaltura client (kaltura-client, pinned in package.json)
// against kaltura-sim, following the scenario of kaltura-api.md §14. Every result's types and
// values are asserted; the first mismatch exits non-zero.
//
// Usage: node walk.js [path/to/kaltura-sim]   (default ../target/debug/kaltura-sim)

'use strict';
const { spawn } = require('child_process');
const path = require('path');
const kaltura = require('kaltura-client');

const SIM_BIN = process.argv[2] || path.join(__dirname, '..', 'target', 'debug', 'kaltura-sim');
const PARTNER_ID = 4242;
const SECRET = 'conformance-admin-secret';
const K = kaltura.objects;

let step = '';
let checks = 0;
let simProcess = null;
function fail(msg) {
  console.error(`conformance FAILED at step "${step}": ${msg}`);
  if (simProcess) simProcess.kill();
  process.exit(1);
}
function ok(cond, msg) {
  checks++;
  if (!cond) fail(msg);
}
function eq(actual, expected, what) {
  checks++;
  if (actual !== expected) fail(`${what}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`);
}
function type(v, t, what) {
  checks++;
  const actual = Array.isArray(v) ? 'array' : v === null ? 'null' : typeof v;
  if (actual !== t) fail(`${what}: expected ${t}, got ${actual} (${JSON.stringify(v)})`);
}
const ENTRY_ID = /^\d+_[0-9a-z]{8}$/;
const TOKEN_ID = /^\d+_[0-9a-f]{32}$/;

async function call(client, builder) {
  try {
    return await builder.execute(client);
  } catch (e) {
    fail(`unexpected API error ${e && e.code}: ${e && e.message}`);
  }
}
async function callError(client, builder, code) {
  try {
    const r = await builder.execute(client);
    fail(`expected error ${code}, got result ${JSON.stringify(r).slice(0, 200)}`);
  } catch (e) {
    eq(e.code, code, 'error code');
    type(e.message, 'string', 'error message');
    eq(e.objectType, 'KalturaAPIException', 'error objectType');
    return e;
  }
}

function startSim() {
  return new Promise((resolve, reject) => {
    const child = spawn(SIM_BIN, ['--port', '0', '--partner-id', String(PARTNER_ID), '--admin-secret', SECRET,
      '--entries', '600', '--seed', '7', '--conversion-delay-ms', '300'], { stdio: ['ignore', 'pipe', 'inherit'] });
    simProcess = child;
    child.on('error', reject);
    child.stdout.once('data', (d) => resolve({ child, url: d.toString().trim().split('\n')[0] }));
  });
}

async function control(url, route, body) {
  const r = await fetch(url + route, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body || {}) });
  if (!r.ok) fail(`control ${route} answered ${r.status}`);
  return r.json();
}

function checkEntry(e, what) {
  eq(e.objectType, 'KalturaMediaEntry', `${what}.objectType`);
  ok(ENTRY_ID.test(e.id), `${what}.id ${e.id} has the Kaltura id shape`);
  type(e.status, 'number', `${what}.status (string enum sent as number)`);
  type(e.createdAt, 'number', `${what}.createdAt`);
  type(e.plays, 'number', `${what}.plays`);
  type(e.tags, 'string', `${what}.tags`);
  type(e.partnerId, 'number', `${what}.partnerId`);
  eq(e.partnerId, PARTNER_ID, `${what}.partnerId`);
  type(e.sourceType, 'string', `${what}.sourceType (observed as string)`);
  if ('lastPlayedAt' in e) type(e.lastPlayedAt, 'number', `${what}.lastPlayedAt`);
  ok(!Object.values(e).some((v) => v === null), `${what} has no null fields (nulls are omitted)`);
}

function checkFlavor(f, what) {
  eq(f.objectType, 'KalturaFlavorAsset', `${what}.objectType`);
  type(f.id, 'string', `${what}.id`);
  type(f.version, 'string', `${what}.version (database read path: string)`);
  type(f.size, 'number', `${what}.size`);
  type(f.isOriginal, 'boolean', `${what}.isOriginal`);
  type(f.status, 'number', `${what}.status`);
  if ('sizeInBytes' in f) {
    type(f.sizeInBytes, 'number', `${what}.sizeInBytes`);
    eq(f.size, Math.round(f.sizeInBytes / 1024), `${what}.size is kilobytes of sizeInBytes`);
  }
}

async function uploadInThreeChunks(client, bytes, fileName) {
  const token = await call(client, kaltura.services.uploadToken.add(new K.UploadToken({ fileName, fileSize: bytes.length })));
  eq(token.objectType, 'KalturaUploadToken', 'token.objectType');
  ok(TOKEN_ID.test(token.id), `token id ${token.id} has the Kaltura shape`);
  eq(token.status, 0, 'new token status PENDING');
  const a = Math.floor(bytes.length / 3), b = Math.floor((2 * bytes.length) / 3);
  let t = await call(client, kaltura.services.uploadToken.upload(token.id, bytes.subarray(0, a), false, false, 0));
  eq(t.status, 1, 'status after first chunk (PARTIAL_UPLOAD)');
  t = await call(client, kaltura.services.uploadToken.upload(token.id, bytes.subarray(a, b), true, false, a));
  eq(t.status, 1, 'status after second chunk');
  eq(Number(t.uploadedFileSize), b, 'uploadedFileSize after second chunk');
  t = await call(client, kaltura.services.uploadToken.upload(token.id, bytes.subarray(b), true, true, b));
  eq(t.status, 2, 'status after final chunk (FULL_UPLOAD)');
  const got = await call(client, kaltura.services.uploadToken.get(token.id));
  eq(got.status, 2, 'uploadToken.get status');
  type(got.uploadedFileSize, 'string', 'uploadedFileSize on the read path');
  eq(Number(got.uploadedFileSize), bytes.length, 'uploadedFileSize');
  await callError(client, kaltura.services.uploadToken.upload(token.id, bytes.subarray(0, 10), false, true, -1), 'UPLOAD_TOKEN_INVALID_STATUS_FOR_UPLOAD');
  return token.id;
}

async function waitFor(client, entryId, pred, what) {
  for (let i = 0; i < 100; i++) {
    const e = await call(client, kaltura.services.media.get(entryId));
    if (pred(e)) return e;
    await new Promise((r) => setTimeout(r, 50));
  }
  fail(`timed out waiting for ${what}`);
}

async function originalOf(client, entryId) {
  const filter = new K.FlavorAssetFilter({ entryIdEqual: entryId });
  const list = await call(client, kaltura.services.flavorAsset.listAction(filter));
  return list.objects.find((f) => f.isOriginal);
}

async function download(client, flavorId) {
  const url = await call(client, kaltura.services.flavorAsset.getUrl(flavorId));
  const r = await fetch(url);
  eq(r.status, 200, 'download status');
  return Buffer.from(await r.arrayBuffer());
}

async function main() {
  const { child, url } = await startSim();
  try {
    const config = new kaltura.Configuration();
    config.serviceUrl = url;
    // The client logs every request and response (the KS included); keep CI output to the verdict.
    config.setLogger({ log() {}, debug() {} });
    const client = new kaltura.Client(config);

    step = 'session.start';
    await callError(client, kaltura.services.session.start('wrong', 'archiver', kaltura.enums.SessionType.ADMIN, PARTNER_ID), 'START_SESSION_ERROR');
    const ks = await call(client, kaltura.services.session.start(SECRET, 'archiver', kaltura.enums.SessionType.ADMIN, PARTNER_ID, 86400, 'disableentitlement'));
    type(ks, 'string', 'KS');
    ok(ks.startsWith('djJ8'), 'KS is v2-shaped (djJ8…)');
    client.setKs(ks);

    step = 'media.list';
    const filter = new K.MediaEntryFilter({ statusIn: '2,7', orderBy: '+createdAt' });
    const page = await call(client, kaltura.services.media.listAction(filter, new K.FilterPager({ pageSize: 5, pageIndex: 1 })));
    eq(page.objectType, 'KalturaMediaListResponse', 'list objectType');
    type(page.totalCount, 'number', 'totalCount');
    eq(page.objects.length, 5, 'page size honoured');
    page.objects.forEach((e, i) => checkEntry(e, `objects[${i}]`));
    for (let i = 1; i < 5; i++) ok(page.objects[i - 1].createdAt <= page.objects[i].createdAt, '+createdAt order');
    ok(page.objects.every((e) => e.status === 2 || e.status === 7), 'statusIn honoured');
    const big = await call(client, kaltura.services.media.listAction(new K.MediaEntryFilter({}), new K.FilterPager({ pageSize: 1000 })));
    eq(big.objects.length, 500, 'pageSize clamped to 500');
    ok(big.objects.every((e) => e.status === 2), 'default list returns READY entries only');
    const dflt = await call(client, kaltura.services.media.listAction());
    eq(dflt.objects.length, 30, 'default page size 30');
    await callError(client, kaltura.services.media.listAction(filter, new K.FilterPager({ pageSize: 500, pageIndex: 21 })), 'QUERY_EXCEEDED_MAX_MATCHES_ALLOWED');
    const count = await call(client, kaltura.services.media.count(new K.MediaEntryFilter({ statusIn: '2,7' })));
    type(count, 'number', 'media.count result');
    eq(count, page.totalCount, 'count equals totalCount');

    step = 'media.get';
    const entry = page.objects.find((e) => e.status === 2 && e.flavorParamsIds.includes('0')) || big.objects.find((e) => e.flavorParamsIds.includes('0'));
    const got = await call(client, kaltura.services.media.get(entry.id));
    checkEntry(got, 'media.get');
    eq(got.id, entry.id, 'media.get id');
    const nf = await callError(client, kaltura.services.media.get('0_nope1234'), 'ENTRY_ID_NOT_FOUND');
    eq(nf.args.ENTRY_ID, '0_nope1234', 'ENTRY_ID_NOT_FOUND args');

    step = 'flavorAsset.list';
    const flavors = await call(client, kaltura.services.flavorAsset.listAction(new K.FlavorAssetFilter({ entryIdEqual: entry.id })));
    eq(flavors.objectType, 'KalturaFlavorAssetListResponse', 'flavor list objectType');
    ok(flavors.objects.length >= 2, 'entry has flavors');
    flavors.objects.forEach((f, i) => checkFlavor(f, `flavors[${i}]`));
    const original = flavors.objects.find((f) => f.isOriginal);
    ok(original && original.flavorParamsId === 0, 'original flavor has params id 0');
    const nullErr = await callError(client, kaltura.services.flavorAsset.listAction(new K.FlavorAssetFilter({})), 'PROPERTY_VALIDATION_CANNOT_BE_NULL');
    eq(nullErr.args.PROP_NAME, 'KalturaFlavorAssetFilter::entryIdEqual/KalturaFlavorAssetFilter::entryIdIn', 'PROP_NAME');

    step = 'flavorAsset.getFlavorAssetsWithParams';
    const wp = await call(client, kaltura.services.flavorAsset.getFlavorAssetsWithParams(entry.id));
    type(wp, 'array', 'getFlavorAssetsWithParams result');
    ok(wp.every((x) => x.objectType === 'KalturaFlavorAssetWithParams' && x.flavorParams.objectType === 'KalturaFlavorParams'), 'elements typed');
    ok(wp.some((x) => !('flavorAsset' in x)), 'params-only elements have no flavorAsset key');
    eq(wp.filter((x) => 'flavorAsset' in x).length, flavors.objects.length, 'one element per live flavor');

    step = 'flavorAsset.getUrl + download';
    const dl = await call(client, kaltura.services.flavorAsset.getUrl(original.id));
    type(dl, 'string', 'getUrl result');
    const r = await fetch(dl, { headers: { Range: 'bytes=0-1023' } });
    eq(r.status, 206, 'range download status');
    eq(Buffer.from(await r.arrayBuffer()).length, 1024, 'range length');
    eq(r.headers.get('content-range'), `bytes 0-1023/${original.sizeInBytes}`, 'Content-Range names the exact size');

    step = 'uploadToken';
    const bytes = Buffer.alloc(300000);
    for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 31 + 7) % 251;
    const tokenId = await uploadInThreeChunks(client, bytes, 'clip.mp4');

    step = 'media.addContent';
    const added = await call(client, kaltura.services.media.add(new K.MediaEntry({ mediaType: 1, name: 'conformance entry' })));
    eq(added.status, 7, 'media.add creates a NO_CONTENT entry');
    const withContent = await call(client, kaltura.services.media.addContent(added.id, new K.UploadedFileTokenResource({ token: tokenId })));
    ok(withContent.status !== 7, 'addContent leaves NO_CONTENT');
    const closed = await call(client, kaltura.services.uploadToken.get(tokenId));
    eq(closed.status, 3, 'consumed token is CLOSED');
    await callError(client, kaltura.services.media.addContent(got.id, new K.UploadedFileTokenResource({ token: tokenId })), 'ENTRY_ALREADY_WITH_CONTENT');
    await waitFor(client, added.id, (e) => e.status === 2, 'the new entry to become READY');
    const newOriginal = await originalOf(client, added.id);
    eq(newOriginal.sizeInBytes, bytes.length, 'original sizeInBytes equals the upload');
    ok((await download(client, newOriginal.id)).equals(bytes), 'download returns exactly the uploaded bytes');

    step = 'media.update';
    const updated = await call(client, kaltura.services.media.update(added.id, new K.MediaEntry({ tags: ' Lecture,PHY,x, lecture ,Archived_To_S3' })));
    eq(updated.tags, 'lecture, phy, archived_to_s3', 'tags normalised');
    await callError(client, kaltura.services.media.update(added.id, new K.MediaEntry({ plays: 99 })), 'PROPERTY_VALIDATION_NOT_UPDATABLE');

    step = 'flavorAsset.delete';
    for (const f of flavors.objects) {
      const res = await call(client, kaltura.services.flavorAsset.deleteAction(f.id));
      ok(res === null || res === undefined || res === '', 'delete returns nothing');
    }
    const emptied = await call(client, kaltura.services.media.get(entry.id));
    eq(emptied.status, 7, 'entry is NO_CONTENT after its last flavor is deleted');
    eq(emptied.flavorParamsIds, '', 'flavorParamsIds cleared');
    await callError(client, kaltura.services.flavorAsset.deleteAction(original.id), 'FLAVOR_ASSET_ID_NOT_FOUND');
    await callError(client, kaltura.services.flavorAsset.getUrl(original.id), 'FLAVOR_ASSET_ID_NOT_FOUND');

    step = 'media.updateContent + approveReplace';
    await control(url, '/sim/settings', { approvalRequired: true });
    const bytes2 = Buffer.alloc(200000, 9);
    const token2 = await uploadInThreeChunks(client, bytes2, 'placeholder.mp4');
    const replacing = await call(client, kaltura.services.media.updateContent(added.id, new K.UploadedFileTokenResource({ token: token2 })));
    ok(ENTRY_ID.test(replacing.replacingEntryId || ''), 'replacingEntryId set');
    eq(replacing.replacementStatus, 3, 'NOT_READY_AND_NOT_APPROVED');
    const bytes3 = Buffer.alloc(1000, 1);
    const token3 = await uploadInThreeChunks(client, bytes3, 'third.mp4');
    await callError(client, kaltura.services.media.updateContent(added.id, new K.UploadedFileTokenResource({ token: token3 })), 'ENTRY_REPLACEMENT_ALREADY_EXISTS');
    await waitFor(client, added.id, (e) => e.replacementStatus === 2, 'READY_BUT_NOT_APPROVED');
    const approved = await call(client, kaltura.services.media.approveReplace(added.id));
    eq(approved.replacementStatus, 0, 'replacement done after approval');
    ok(!('replacingEntryId' in approved), 'replacingEntryId cleared (null fields omitted)');
    const replacedOriginal = await originalOf(client, added.id);
    eq(replacedOriginal.id, newOriginal.id, 'original flavor keeps its id');
    eq(replacedOriginal.version, String(Number(newOriginal.version) + 1), 'original flavor version bumped');
    eq(replacedOriginal.sizeInBytes, bytes2.length, 'replaced original has the new size');
    await callError(client, kaltura.services.media.approveReplace(added.id), 'ENTRY_ID_NOT_REPLACED');

    step = 'eSearch.searchEntry';
    const params = new K.ESearchEntryParams({
      searchOperator: new K.ESearchEntryOperator({ operator: 1, searchItems: [
        new K.ESearchEntryItem({ fieldName: 'tags', itemType: 1, searchTerm: 'archived_to_s3' }),
        new K.ESearchEntryItem({ fieldName: 'created_at', itemType: 5, range: new K.ESearchRange({ greaterThanOrEqual: 0 }) }),
      ] }),
      orderBy: new K.ESearchOrderBy({ orderItems: [new K.ESearchEntryOrderByItem({ sortField: 'created_at', sortOrder: 'asc' })] }),
    });
    const found = await call(client, kaltura.services.eSearch.searchEntry(params, new K.Pager({ pageSize: 10 })));
    eq(found.objectType, 'KalturaESearchEntryResponse', 'eSearch response objectType');
    eq(found.totalCount, 1, 'eSearch finds the tagged entry');
    eq(found.objects[0].objectType, 'KalturaESearchEntryResult', 'eSearch result wrapper');
    eq(found.objects[0].object.id, added.id, 'eSearch result entry');
    await callError(client, kaltura.services.eSearch.searchEntry(params, new K.Pager({ pageSize: 500, pageIndex: 21 })), 'CRITERIA EXCEEDED MAX MATCHES ALLOWED');
    const badItem = new K.ESearchEntryParams({ searchOperator: new K.ESearchEntryOperator({ operator: 1, searchItems: [
      new K.ESearchEntryItem({ fieldName: 'created_at', itemType: 1, searchTerm: '5' })] }) });
    await callError(client, kaltura.services.eSearch.searchEntry(badItem), 'SEARCH_TYPE_NOT_ALLOWED_ON_FIELD');

    step = 'multirequest';
    const multi = kaltura.services.media.get(added.id)
      .add(kaltura.services.flavorAsset.listAction(new K.FlavorAssetFilter({ entryIdEqual: '{1:result:id}' })))
      .add(kaltura.services.media.get('0_nope1234'));
    const results = await multi.execute(client);
    type(results, 'array', 'multirequest result');
    eq(results.length, 3, 'one result per member');
    eq(results[0].id, added.id, 'first member');
    eq(results[1].objectType, 'KalturaFlavorAssetListResponse', 'second member used {1:result:id}');
    ok(results[1].objects.length > 0 && results[1].objects.every((f) => f.entryId === added.id), 'reference resolved to the entry id');
    eq(results[2].code, 'ENTRY_ID_NOT_FOUND', 'failing member reported in place');
    eq(results[2].objectType, 'KalturaAPIException', 'failing member is an exception object');

    step = 'system.getTime';
    const before = await call(client, kaltura.services.system.getTime());
    type(before, 'number', 'server time');
    await control(url, '/sim/clock/advance', { seconds: 3600 });
    const after = await call(client, kaltura.services.system.getTime());
    ok(after - before >= 3600 && after - before < 3600 + 60, `the clock moved an hour (${after - before} s)`);

    step = 'category.list';
    const cats = await call(client, kaltura.services.category.listAction(
      new K.CategoryFilter({ fullNameIn: 'Courses>PHY101,Courses>Nope' }), new K.FilterPager({ pageSize: 500 })));
    eq(cats.objectType, 'KalturaCategoryListResponse', 'category list objectType');
    eq(cats.objects.length, 1, 'only the category that exists');
    eq(cats.objects[0].fullName, 'Courses>PHY101', 'found by full name');
    type(cats.objects[0].id, 'number', 'category id');
    const byId = await call(client, kaltura.services.category.listAction(
      new K.CategoryFilter({ idIn: String(cats.objects[0].id) })));
    eq(byId.objects[0].fullName, 'Courses>PHY101', 'found by id');

    step = 'captionAsset.list + getUrl';
    const withCaptions = await call(client, kaltura.services.captionAsset.listAction(
      new K.CaptionAssetFilter({ entryIdIn: page.objects.map((e) => e.id).join(',') }), new K.FilterPager({ pageSize: 500 })));
    eq(withCaptions.objectType, 'KalturaCaptionAssetListResponse', 'caption list objectType');
    for (const c of withCaptions.objects) {
      eq(c.objectType, 'KalturaCaptionAsset', 'caption objectType');
      type(c.format, 'string', 'caption format (an enum string)');
      type(c.isDefault, 'number', 'isDefault (a KalturaNullableBoolean)');
      const capUrl = await call(client, kaltura.services.captionAsset.getUrl(c.id));
      const r = await fetch(capUrl);
      eq(r.status, 200, 'caption served');
      eq(Number(r.headers.get('content-length') || (await r.clone().arrayBuffer()).byteLength), c.sizeInBytes, 'served size = sizeInBytes');
    }
    await callError(client, kaltura.services.captionAsset.get('1_nope0000'), 'CAPTION_ASSET_ID_NOT_FOUND');

    step = 'KS expiry and logout';
    await control(url, '/sim/ks/expire', { ks });
    const expired = await callError(client, kaltura.services.media.get(added.id), 'INVALID_KS');
    eq(expired.args.KSID, 'EXPIRED', 'expired KS reported as KSID EXPIRED');
    const ks2 = await call(client, kaltura.services.session.start(SECRET, 'archiver', kaltura.enums.SessionType.ADMIN, PARTNER_ID));
    client.setKs(ks2);
    await call(client, kaltura.services.session.end());
    const logout = await callError(client, kaltura.services.media.get(added.id), 'INVALID_KS');
    eq(logout.args.KSID, 'LOGOUT', 'ended KS reported as KSID LOGOUT');
    client.setKs(null);
    await callError(client, kaltura.services.media.get(added.id), 'SERVICE_FORBIDDEN');

    console.log(`official client kaltura-client ${require('kaltura-client/package.json').version} against ${url}`);
    console.log(`conformance: ${checks} passed, 0 failed`);
  } finally {
    child.kill();
  }
}

main().catch((e) => fail(e && e.stack ? e.stack : String(e)));
