//! The known race, narrowed: an owner re-uploads an entry between its diagnosis and the call that
//! replaces its content. `replace` checks the original's flavor id and version again immediately
//! before `media.updateContent` and refuses, so the new upload is never replaced without a copy.

use std::sync::Arc;

use archiver::context::{Ctx, Mode, Settings};
use archiver::diagnose::{diagnose, State};
use archiver::outcome::{Outcome, Step};
use archiver::placeholder::{Placeholders, DEFAULT};
use archiver::proof::Depth;
use archiver::store::local::LocalStore;
use archiver::store::StorageClass;
use kaltura::{Client, EntryId, FlavorAsset, MediaEntry};
use kaltura_sim::model::{entry_status, flavor_status, media_type};
use kaltura_sim::{SimConfig, SimServer};

fn client(s: &SimServer) -> Client {
    Client::builder()
        .with_service_url(s.base_url())
        .with_partner_id(77)
        .with_secret("race-secret".to_string().into())
        .build()
        .unwrap()
}

async fn entry_and_original(c: &Client, id: &EntryId) -> (MediaEntry, Option<FlavorAsset>) {
    let e = c.entries_by_id(std::slice::from_ref(id)).await.unwrap();
    let f = c.flavors_of(std::slice::from_ref(id), true).await.unwrap();
    (
        e.into_iter().next().unwrap(),
        f.into_iter().find(|f| f.is_original),
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn a_reupload_after_the_diagnosis_is_never_replaced() {
    let s = SimServer::start(SimConfig {
        partner_id: 77,
        admin_secret: "race-secret".into(),
        entries: 30,
        seed: 71,
        history_years: 8,
        flavor_bytes: (20_000, 100_000),
        ..SimConfig::default()
    })
    .await
    .unwrap();
    let c = client(&s);
    let dir = tempfile::tempdir().unwrap();
    let ctx = Ctx::new(
        c.clone(),
        Arc::new(LocalStore::new(dir.path()).unwrap()),
        Placeholders::new(DEFAULT.to_vec()),
        Settings {
            years: 0.001,
            storage_class: StorageClass::Standard,
            ..Settings::default()
        },
        Mode::Execute,
        "race",
    );
    let now = ctx.now;
    // An entry with a READY original, not played in the last days.
    let id = {
        let w = s.sim().world.lock().unwrap();
        let cutoff = now - 86_400;
        w.entries
            .iter()
            .filter(|e| e.status == entry_status::READY && e.media_type == media_type::VIDEO)
            .filter(|e| e.last_played_at.is_none_or(|t| t < cutoff))
            .find(|e| {
                w.flavors.iter().any(|f| {
                    f.entry_id == e.id
                        && f.is_original
                        && f.status == flavor_status::READY
                        && f.deleted_at.is_none()
                })
            })
            .map(|e| EntryId(e.id.clone()))
            .unwrap()
    };
    let (e, o) = entry_and_original(&c, &id).await;
    let d = diagnose(&ctx, &e, o.as_ref(), Depth::Prove).await.unwrap();
    assert_eq!(archiver::archive::archive(&ctx, &d).await.name(), "done");
    let (e, o) = entry_and_original(&c, &id).await;
    let d = diagnose(&ctx, &e, o.as_ref(), Depth::Prove).await.unwrap();
    assert_eq!(d.state, State::Archived);

    // The owner uploads new content after the diagnosis.
    let data = bytes::Bytes::from(vec![9u8; 70_000]);
    let body: kaltura::ByteStream = Box::pin(futures_util::stream::once(async move { Ok(data) }));
    let token = c.upload("new.mp4", 70_000, body).await.unwrap();
    c.update_content(&id, &token).await.unwrap();
    // Let the simulator finish the conversion.
    let _ = reqwest::get(format!("{}/sim/state", s.base_url()))
        .await
        .unwrap()
        .text()
        .await;
    let (_, new_original) = entry_and_original(&c, &id).await;
    let new_original = new_original.unwrap();
    assert_ne!(new_original.version, d.original.as_ref().unwrap().version);

    match archiver::replace::replace(&ctx, &d).await {
        Step::Finished(Outcome::Failed(why)) => {
            assert!(why.contains("original changed"), "{why}")
        }
        other => panic!("replace went ahead on a stale diagnosis: {other:?}"),
    }
    let (_, after) = entry_and_original(&c, &id).await;
    let after = after.unwrap();
    assert_eq!(
        (after.id.clone(), after.version, after.exact_bytes()),
        (new_original.id, new_original.version, Some(70_000)),
        "the new upload is still the original"
    );
}
