// What Kaltura says about entries, read with the official Node client (kaltura-client, pinned in
// package.json), for the sidecar tests: each entry's media.get fields, its caption assets
// (caption_captionAsset.list) and the SHA-256 of each caption file (getUrl, then fetched), and
// of its thumbnail. Prints one JSON object {entryId: {...}} on stdout.
//
// Usage: node entry_facts.js SERVICE_URL PARTNER_ID SECRET ENTRY_ID...

'use strict';
const crypto = require('crypto');
const kaltura = require('kaltura-client');

const [url, partner, secret, ...ids] = process.argv.slice(2);
const K = kaltura.objects;

async function sha256Of(u) {
  const r = await fetch(u);
  if (!r.ok) throw new Error(`GET ${u}: ${r.status}`);
  const bytes = Buffer.from(await r.arrayBuffer());
  return { sha256: crypto.createHash('sha256').update(bytes).digest('hex'), bytes: bytes.length };
}

async function main() {
  const config = new kaltura.Configuration();
  config.serviceUrl = url;
  config.setLogger({ log() {}, debug() {} });
  const client = new kaltura.Client(config);
  const ks = await kaltura.services.session
    .start(secret, 'facts', kaltura.enums.SessionType.ADMIN, Number(partner), 3600, 'disableentitlement')
    .execute(client);
  client.setKs(ks);
  const out = {};
  for (const id of ids) {
    const e = await kaltura.services.media.get(id).execute(client);
    const list = await kaltura.services.captionAsset
      .listAction(new K.CaptionAssetFilter({ entryIdEqual: id }), new K.FilterPager({ pageSize: 500 }))
      .execute(client);
    const captions = [];
    for (const c of list.objects || []) {
      const u = await kaltura.services.captionAsset.getUrl(c.id).execute(client);
      captions.push({ id: c.id, language: c.language, languageCode: c.languageCode, label: c.label,
                      format: Number(c.format), ...(await sha256Of(u)) });
    }
    out[id] = {
      name: e.name, description: e.description || '', tags: e.tags || '', categories: e.categories || '',
      categoriesIds: e.categoriesIds || '', userId: e.userId, creatorId: e.creatorId,
      createdAt: e.createdAt, updatedAt: e.updatedAt, msDuration: e.msDuration, plays: e.plays,
      lastPlayedAt: e.lastPlayedAt || null, captions, thumbnail: await sha256Of(e.thumbnailUrl),
    };
  }
  process.stdout.write(JSON.stringify(out));
}

main().catch((e) => {
  console.error(`entry_facts: ${e && (e.code || '')} ${e && e.message}`);
  process.exit(1);
});
