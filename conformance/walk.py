"""Conformance walk: the official Python Kaltura client (KalturaApiClient, pinned in
requirements.txt; it speaks only XML) against kaltura-sim, following kaltura-api.md section 14.
Every result's class and values are asserted; the first mismatch exits non-zero.

Usage: python walk.py [path/to/kaltura-sim]   (default ../target/debug/kaltura-sim)
"""

import os
import subprocess
import sys
import tempfile
import time
import urllib.request

from KalturaClient import KalturaClient, KalturaConfiguration
from KalturaClient.exceptions import KalturaException
from KalturaClient.Plugins.Core import (
    KalturaDetachedResponseProfile,
    KalturaEntryStatus,
    KalturaFilterPager,
    KalturaFlavorAsset,
    KalturaFlavorAssetFilter,
    KalturaMediaEntry,
    KalturaMediaEntryFilter,
    KalturaMediaType,
    KalturaPager,
    KalturaResponseProfileMapping,
    KalturaResponseProfileType,
    KalturaSessionType,
    KalturaUploadedFileTokenResource,
    KalturaUploadToken,
    KalturaUserFilter,
)
from KalturaClient.Plugins.ElasticSearch import (
    KalturaESearchEntryItem,
    KalturaESearchEntryOperator,
    KalturaESearchEntryParams,
    KalturaESearchItemType,
    KalturaESearchOperatorType,
)

HERE = os.path.dirname(os.path.abspath(__file__))
SIM_BIN = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "..", "target", "debug", "kaltura-sim")
PARTNER_ID = 4343
SECRET = "conformance-python-secret"

step = ""
checks = 0
sim = None


def fail(msg):
    print(f'python conformance FAILED at step "{step}": {msg}', file=sys.stderr)
    if sim:
        sim.kill()
    sys.exit(1)


def ok(cond, msg):
    global checks
    checks += 1
    if not cond:
        fail(msg)


def eq(actual, expected, what):
    ok(actual == expected, f"{what}: expected {expected!r}, got {actual!r}")


def expect_error(code, fn, *args):
    try:
        result = fn(*args)
    except KalturaException as e:
        eq(e.code, code, "error code")
        return e
    fail(f"expected {code}, got {result!r}")


def status(enum_value):
    """String enums come back as objects wrapping the value."""
    return str(enum_value.getValue())


def upload_in_three_chunks(client, data, name):
    token = KalturaUploadToken()
    token.fileName = name
    token.fileSize = len(data)
    token = client.uploadToken.add(token)
    eq(type(token).__name__, "KalturaUploadToken", "uploadToken.add class")
    eq(token.status.getValue(), 0, "new token PENDING")
    a, b = len(data) // 3, 2 * len(data) // 3
    with tempfile.TemporaryDirectory() as d:
        parts = []
        for i, (s, e) in enumerate([(0, a), (a, b), (b, len(data))]):
            path = os.path.join(d, f"part{i}.mp4")
            with open(path, "wb") as f:
                f.write(data[s:e])
            parts.append((path, s))
        t = client.uploadToken.upload(token.id, open(parts[0][0], "rb"), False, False, 0)
        eq(t.status.getValue(), 1, "PARTIAL_UPLOAD after the first chunk")
        t = client.uploadToken.upload(token.id, open(parts[1][0], "rb"), True, False, parts[1][1])
        eq(int(t.uploadedFileSize), b, "uploadedFileSize after the second chunk")
        t = client.uploadToken.upload(token.id, open(parts[2][0], "rb"), True, True, parts[2][1])
        eq(t.status.getValue(), 2, "FULL_UPLOAD after the final chunk")
    got = client.uploadToken.get(token.id)
    eq(int(got.uploadedFileSize), len(data), "uploadToken.get uploadedFileSize")
    return token.id


def original_of(client, entry_id):
    f = KalturaFlavorAssetFilter()
    f.entryIdEqual = entry_id
    return [x for x in client.flavorAsset.list(f).objects if x.isOriginal][0]


def wait_for(client, entry_id, pred, what):
    for _ in range(100):
        e = client.media.get(entry_id)
        if pred(e):
            return e
        time.sleep(0.05)
    fail(f"timed out waiting for {what}")


def main():
    global step, sim
    sim = subprocess.Popen(
        [SIM_BIN, "--port", "0", "--partner-id", str(PARTNER_ID), "--admin-secret", SECRET,
         "--entries", "300", "--seed", "9", "--conversion-delay-ms", "200"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    url = sim.stdout.readline().strip()
    config = KalturaConfiguration()
    config.serviceUrl = url
    client = KalturaClient(config)

    step = "session.start"
    expect_error("START_SESSION_ERROR", client.session.start, "wrong", "archiver", KalturaSessionType.ADMIN, PARTNER_ID)
    ks = client.session.start(SECRET, "archiver", KalturaSessionType.ADMIN, PARTNER_ID, 86400, "disableentitlement")
    ok(ks.startswith("djJ8"), "KS is v2-shaped")
    client.setKs(ks)

    step = "media.list"
    flt = KalturaMediaEntryFilter()
    flt.statusIn = "2,7"
    flt.orderBy = "+createdAt"
    pager = KalturaFilterPager()
    pager.pageSize = 5
    page = client.media.list(flt, pager)
    eq(type(page).__name__, "KalturaMediaListResponse", "list class")
    eq(len(page.objects), 5, "page size")
    ok(all(type(e).__name__ == "KalturaMediaEntry" for e in page.objects), "entries typed")
    ok(all(status(e.status) in ("2", "7") for e in page.objects), "statusIn honoured")
    ok(all(page.objects[i].createdAt <= page.objects[i + 1].createdAt for i in range(4)), "+createdAt order")
    count = client.media.count(flt)
    eq(count, page.totalCount, "count equals totalCount")
    pager.pageSize = 500
    pager.pageIndex = 21
    expect_error("QUERY_EXCEEDED_MAX_MATCHES_ALLOWED", client.media.list, flt, pager)

    step = "media.list with a response profile: each entry's flavors nested in relatedObjects"
    related = KalturaDetachedResponseProfile()
    related.name = "flavors"
    related.filter = KalturaFlavorAssetFilter()
    mapping = KalturaResponseProfileMapping()
    mapping.parentProperty = "id"
    mapping.filterProperty = "entryIdEqual"
    related.mappings = [mapping]
    related_pager = KalturaFilterPager()
    related_pager.pageSize = 500
    related.pager = related_pager
    profile = KalturaDetachedResponseProfile()
    profile.type = KalturaResponseProfileType.EXCLUDE_FIELDS
    profile.fields = ""
    profile.relatedProfiles = [related]
    client.setResponseProfile(profile)
    pager.pageSize = 5
    pager.pageIndex = 1
    nested = client.media.list(flt, pager)
    client.requestConfiguration.pop("responseProfile", None)
    eq(len(nested.objects), 5, "page size with a profile")
    for e in nested.objects:
        lists = e.relatedObjects
        ok(isinstance(lists, dict) and "flavors" in lists, f"{e.id}.relatedObjects holds 'flavors': {lists!r}")
        nested_flavors = lists["flavors"]
        eq(type(nested_flavors).__name__, "KalturaFlavorAssetListResponse", "nested list class")
        ok(all(f.entryId == e.id for f in nested_flavors.objects), "nested flavors are the entry's")
        fe = KalturaFlavorAssetFilter()
        fe.entryIdEqual = e.id
        direct = sorted(f.id for f in client.flavorAsset.list(fe).objects)
        eq(sorted(f.id for f in nested_flavors.objects), direct, f"{e.id} nested flavors = flavorAsset.list")
    plain = client.media.list(flt, pager).objects[0]
    ok(plain.relatedObjects in (None, NotImplemented, {}), "no profile, no relatedObjects")

    step = "user.get / user.list: entry owners, with and without an address"
    owners = sorted({e.userId for e in page.objects if e.userId})
    user = client.user.get(owners[0])
    eq(type(user).__name__, "KalturaUser", "user class")
    eq(user.id, owners[0], "user.get id")
    ok(user.email is None or "@" in user.email, f"email is an address or None, not {user.email!r}")
    uf = KalturaUserFilter()
    uf.idIn = ",".join(owners + ["nobody_here"])
    users = client.user.list(uf, KalturaFilterPager())
    eq(type(users).__name__, "KalturaUserListResponse", "user list class")
    eq(sorted(u.id for u in users.objects), owners, "user.list by idIn: the owners, not the unknown id")
    expect_error("INVALID_USER_ID", client.user.get, "nobody_here")

    step = "media.get"
    ready = client.media.list(KalturaMediaEntryFilter(), KalturaFilterPager()).objects
    entry = [e for e in ready if e.flavorParamsIds.startswith("0,")][0]
    got = client.media.get(entry.id)
    eq(got.id, entry.id, "media.get id")
    eq(status(got.status), KalturaEntryStatus.READY, "READY")
    e = expect_error("ENTRY_ID_NOT_FOUND", client.media.get, "0_nope1234")
    ok("0_nope1234" in e.message, "message names the id")

    step = "null fields read as None (every declared field is written, empty when null)"
    never = [e for e in ready if e.lastPlayedAt is None or e.lastPlayedAt is NotImplemented]
    ok(never, "a never-played entry among the first page")
    for e in never[:3]:
        ok(e.lastPlayedAt is None, f"{e.id}.lastPlayedAt is None, not {e.lastPlayedAt!r}")
    for field in ("replacingEntryId", "replacedEntryId", "redirectEntryId", "rootEntryId"):
        value = getattr(got, field)
        ok(value is not NotImplemented, f"media.get {field} is written (got NotImplemented)")

    step = "flavorAsset.list / getFlavorAssetsWithParams / getUrl"
    ff = KalturaFlavorAssetFilter()
    ff.entryIdEqual = entry.id
    flavors = client.flavorAsset.list(ff).objects
    ok(all(isinstance(f, KalturaFlavorAsset) for f in flavors), "flavors typed")
    original = [f for f in flavors if f.isOriginal][0]
    eq(original.size, round(original.sizeInBytes / 1024), "size is kilobytes")
    ok(original.deletedAt is None, f"a live flavor's deletedAt is None, not {original.deletedAt!r}")
    wp = client.flavorAsset.getFlavorAssetsWithParams(entry.id)
    eq(sum(1 for x in wp if isinstance(x.flavorAsset, KalturaFlavorAsset)), len(flavors), "one element per flavor")
    download_url = client.flavorAsset.getUrl(original.id)
    req = urllib.request.Request(download_url, headers={"Range": "bytes=0-99"})
    with urllib.request.urlopen(req) as r:
        eq(r.status, 206, "range download")
        eq(len(r.read()), 100, "range length")

    step = "uploadToken + media.addContent"
    data = bytes((i * 13 + 5) % 256 for i in range(120000))
    token_id = upload_in_three_chunks(client, data, "clip.mp4")
    new_entry = KalturaMediaEntry()
    new_entry.mediaType = KalturaMediaType.VIDEO
    new_entry.name = "python conformance"
    added = client.media.add(new_entry)
    eq(status(added.status), KalturaEntryStatus.NO_CONTENT, "media.add gives NO_CONTENT")
    resource = KalturaUploadedFileTokenResource()
    resource.token = token_id
    client.media.addContent(added.id, resource)
    eq(client.uploadToken.get(token_id).status.getValue(), 3, "consumed token CLOSED")
    wait_for(client, added.id, lambda e: status(e.status) == KalturaEntryStatus.READY, "READY")
    new_original = original_of(client, added.id)
    eq(new_original.sizeInBytes, len(data), "original size equals the upload")
    with urllib.request.urlopen(client.flavorAsset.getUrl(new_original.id)) as r:
        ok(r.read() == data, "download returns exactly the uploaded bytes")

    step = "media.update"
    upd = KalturaMediaEntry()
    upd.tags = " Lecture,PHY,x, lecture ,Archived_To_S3"
    eq(client.media.update(added.id, upd).tags, "lecture, phy, archived_to_s3", "tags normalised")

    step = "flavorAsset.delete"
    for f in flavors:
        client.flavorAsset.delete(f.id)
    emptied = client.media.get(entry.id)
    eq(status(emptied.status), KalturaEntryStatus.NO_CONTENT, "NO_CONTENT after the last flavor")
    expect_error("FLAVOR_ASSET_ID_NOT_FOUND", client.flavorAsset.delete, original.id)

    step = "media.updateContent"
    data2 = bytes(50000)
    resource2 = KalturaUploadedFileTokenResource()
    resource2.token = upload_in_three_chunks(client, data2, "placeholder.mp4")
    client.media.updateContent(added.id, resource2)
    done = wait_for(client, added.id, lambda e: status(e.replacementStatus) == "0", "replacement")
    replaced = original_of(client, added.id)
    eq(replaced.id, new_original.id, "flavor id kept")
    eq(replaced.version, new_original.version + 1, "version bumped")
    eq(replaced.sizeInBytes, len(data2), "new size")
    expect_error("ENTRY_ID_NOT_REPLACED", client.media.approveReplace, done.id)

    step = "eSearch"
    item = KalturaESearchEntryItem()
    item.fieldName = "tags"
    item.itemType = KalturaESearchItemType.EXACT_MATCH
    item.searchTerm = "archived_to_s3"
    op = KalturaESearchEntryOperator()
    op.operator = KalturaESearchOperatorType.AND_OP
    op.searchItems = [item]
    params = KalturaESearchEntryParams()
    params.searchOperator = op
    found = client.elasticSearch.eSearch.searchEntry(params, KalturaPager())
    eq(found.totalCount, 1, "eSearch finds the tagged entry")
    eq(found.objects[0].object.id, added.id, "eSearch result")
    big = KalturaPager()
    big.pageSize = 500
    big.pageIndex = 21
    expect_error("CRITERIA EXCEEDED MAX MATCHES ALLOWED", client.elasticSearch.eSearch.searchEntry, params, big)

    step = "multirequest"
    client.startMultiRequest()
    first = client.media.get(added.id)
    mf = KalturaFlavorAssetFilter()
    mf.entryIdEqual = first.id
    client.flavorAsset.list(mf)
    client.media.get("0_nope1234")
    results = client.doMultiRequest()
    eq(len(results), 3, "one result per member")
    eq(results[0].id, added.id, "first member")
    ok(all(f.entryId == added.id for f in results[1].objects) and results[1].objects, "{1:result:id} resolved")
    ok(isinstance(results[2], KalturaException) and results[2].code == "ENTRY_ID_NOT_FOUND", "failing member in place")

    step = "session.end"
    client.session.end()
    e = expect_error("INVALID_KS", client.media.get, added.id)
    ok("LOGOUT" in e.message, "ended KS is LOGOUT")

    sim.kill()
    print(f"python client KalturaApiClient 23.10.0 against {url}")
    print(f"conformance-python: {checks} passed, 0 failed")


if __name__ == "__main__":
    try:
        main()
    except SystemExit:
        raise
    except BaseException as e:  # any client-side failure is a conformance failure
        import traceback

        traceback.print_exc()
        fail(f"{type(e).__name__}: {e}")
