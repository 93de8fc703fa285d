//! The `uploadToken` service: add, chunked and resumable upload, get, list, delete
//! (kaltura-api.md §8). Bytes go to a spool file per token; chunks are placed by `resumeAt`,
//! out-of-order chunks are parked until the gap is filled.

use serde_json::Value;
use std::io::SeekFrom;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncSeekExt, AsyncWriteExt};

use super::media::{list_response, pager};
use crate::error::{codes, ApiResult};
use crate::model::{token_status, UploadToken};
use crate::params::{Obj, Params};
use crate::world::World;
use crate::Sim;

/// How many out-of-order chunks a token may park.
const MAX_PARKED_CHUNKS: usize = 1000;

/// `uploadToken.add`.
pub fn add(w: &mut World, p: Obj<'_>, user: &str) -> ApiResult<Value> {
    let t = p.obj_or_empty("uploadToken");
    let id = w.new_id(true);
    let now = w.now();
    let token = UploadToken {
        path: w.spool_dir.join(&id),
        id: id.clone(),
        user_id: user.to_string(),
        status: token_status::PENDING,
        file_name: t.str("fileName"),
        file_size: t.float("fileSize"),
        uploaded: None,
        created_at: now,
        updated_at: now,
        auto_finalize: t.int("autoFinalize") == Some(1),
        attached: None,
    };
    let json = token.to_json(w.settings.partner_id, false);
    w.tokens.insert(id, token);
    Ok(json)
}

/// `uploadToken.get` (read path: sizes come back as strings, as the database returns them).
pub fn get(w: &World, p: Obj<'_>) -> ApiResult<Value> {
    let id = p.required_str("uploadTokenId")?;
    let t = w
        .tokens
        .get(&id)
        .ok_or_else(codes::upload_token_not_found)?;
    Ok(t.to_json(w.settings.partner_id, true))
}

/// `uploadToken.list`.
pub fn list(w: &World, p: Obj<'_>) -> ApiResult<Value> {
    let f = p.obj_or_empty("filter");
    let ids: Option<Vec<String>> = f.str("idEqual").map(|s| vec![s]).or_else(|| f.csv("idIn"));
    let statuses: Option<Vec<i32>> = f
        .str("statusEqual")
        .map(|s| vec![s])
        .or_else(|| f.csv("statusIn"))
        .map(|l| l.iter().filter_map(|s| s.parse().ok()).collect());
    let name = f.str("fileNameEqual");
    let mut hits: Vec<&UploadToken> = w
        .tokens
        .values()
        .filter(|t| ids.as_ref().is_none_or(|l| l.contains(&t.id)))
        .filter(|t| statuses.as_ref().is_none_or(|l| l.contains(&t.status)))
        .filter(|t| {
            name.as_ref()
                .is_none_or(|n| t.file_name.as_ref() == Some(n))
        })
        .collect();
    hits.sort_by(|a, b| a.created_at.cmp(&b.created_at).then(a.id.cmp(&b.id)));
    let (size, index) = pager(p.obj_or_empty("pager"));
    let total = hits.len();
    let objects = hits
        .iter()
        .skip((index - 1) * size)
        .take(size)
        .map(|t| t.to_json(w.settings.partner_id, true))
        .collect();
    Ok(list_response(
        objects,
        total,
        "KalturaUploadTokenListResponse",
    ))
}

/// `uploadToken.delete`.
pub fn delete(w: &mut World, p: Obj<'_>) -> ApiResult<Value> {
    let id = p.required_str("uploadTokenId")?;
    let now = w.now();
    let t = w
        .tokens
        .get_mut(&id)
        .ok_or_else(codes::upload_token_not_found)?;
    t.status = token_status::DELETED;
    t.updated_at = now;
    Ok(Value::Null)
}

async fn write_at(
    path: &std::path::Path,
    offset: u64,
    data: &[u8],
    truncate: bool,
) -> std::io::Result<()> {
    let mut f = tokio::fs::OpenOptions::new()
        .create(true)
        .write(true)
        .truncate(truncate)
        .open(path)
        .await?;
    f.seek(SeekFrom::Start(offset)).await?;
    f.write_all(data).await?;
    f.flush().await
}

/// `uploadToken.upload`: `resume=false` replaces the file; `resume=true` writes at `resumeAt`
/// (or appends for -1), parking chunks that do not fit yet; a final chunk at `resumeAt > 0` waits
/// until everything before it has arrived, else `UPLOAD_TOKEN_CANNOT_MATCH_EXPECTED_SIZE`.
pub async fn upload(sim: &Arc<Sim>, params: &Params) -> ApiResult<Value> {
    let p = Obj(&params.tree);
    let id = p.required_str("uploadTokenId")?;
    let part = params
        .files
        .get("fileData")
        .ok_or_else(|| codes::missing_parameter("fileData"))?;
    if part.file_name.is_empty() {
        return Err(codes::upload_error());
    }
    let resume = p.bool_or("resume", false);
    let final_chunk = p.bool_or("finalChunk", true);
    let resume_at = p.float("resumeAt").unwrap_or(-1.0);
    let arrived = Instant::now();
    let (path, wait, max_parked, rate) = {
        let mut w = sim.world.lock().expect("world lock");
        let wait = Duration::from_millis(w.settings.final_chunk_wait_ms);
        let rate = crate::shaping::bytes_per_sec(w.settings.upload_mbps);
        let max_parked = MAX_PARKED_CHUNKS;
        let t = w
            .tokens
            .get_mut(&id)
            .ok_or_else(codes::upload_token_not_found)?;
        if !matches!(
            t.status,
            token_status::PENDING | token_status::PARTIAL_UPLOAD
        ) {
            return Err(codes::upload_token_invalid_status());
        }
        (t.path.clone(), wait, max_parked, rate)
    };
    // The chunk's bytes take as long as they would over the modelled link.
    crate::shaping::pace(part.data.len() as u64, rate, arrived).await;
    let tf = sim.token_file(&id);
    let data = &part.data;
    let io_err = |_e: std::io::Error| codes::upload_error();
    let expected_end;
    {
        let mut g = tf.lock().await;
        if !resume {
            write_at(&path, 0, data, true).await.map_err(io_err)?;
            g.size = data.len() as u64;
            g.exists = true;
            g.parked.clear();
            expected_end = g.size;
        } else {
            if !g.exists {
                return Err(codes::upload_token_cannot_resume());
            }
            let at = if resume_at < 0.0 {
                g.size
            } else {
                resume_at as u64
            };
            expected_end = at + data.len() as u64;
            if data.is_empty() && !final_chunk && at > 0 {
                // An empty non-final chunk is ignored.
            } else if at <= g.size {
                write_at(&path, at, data, false).await.map_err(io_err)?;
                g.size = g.size.max(expected_end);
                while let Some((&off, _)) = g.parked.first_key_value() {
                    if off > g.size {
                        break;
                    }
                    let chunk = g.parked.remove(&off).expect("key just seen");
                    write_at(&path, off, &chunk, false).await.map_err(io_err)?;
                    g.size = g.size.max(off + chunk.len() as u64);
                }
            } else {
                if g.parked.len() >= max_parked {
                    return Err(codes::max_chunk_count());
                }
                g.parked.insert(at, data.clone());
            }
        }
    }
    if final_chunk && resume && expected_end > data.len() as u64 {
        let started = Instant::now();
        while tf.lock().await.size < expected_end {
            if started.elapsed() >= wait {
                return Err(codes::upload_cannot_match_size());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    let size = tf.lock().await.size;
    let mut w = sim.world.lock().expect("world lock");
    let now = w.now();
    let pid = w.settings.partner_id;
    let t = w
        .tokens
        .get_mut(&id)
        .ok_or_else(codes::upload_token_not_found)?;
    t.uploaded = Some(size);
    t.updated_at = now;
    if t.file_name.is_none() {
        t.file_name = Some(part.file_name.clone());
    }
    let complete = (final_chunk && size >= expected_end)
        || (t.auto_finalize && t.file_size.is_some_and(|s| size as f64 >= s));
    if complete {
        t.status = token_status::FULL_UPLOAD;
    } else if t.status == token_status::PENDING {
        t.status = token_status::PARTIAL_UPLOAD;
    }
    // A completed token that an entry waits for is consumed by it in this request, so the
    // answer already says CLOSED (kaltura-api.md §4.7).
    w.advance();
    let t = w
        .tokens
        .get(&id)
        .ok_or_else(codes::upload_token_not_found)?;
    Ok(t.to_json(pid, false))
}
