//! HTTP surface: API routing and request decoding (kaltura-api.md §1), HTTP-level faults, the
//! serveFlavor download URLs (with `Range`), and the `/sim/` control routes.

use axum::body::Body;
use axum::extract::{DefaultBodyLimit, FromRequest, Multipart, Path, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get};
use axum::Router;
use bytes::Bytes;
use futures_util::stream::{self, Stream};
use serde_json::Value;
use std::io;
use std::sync::Arc;
use tokio::io::{AsyncReadExt, AsyncSeekExt};

use crate::api;
use crate::content;
use crate::error::codes;
use crate::faults::HttpFault;
use crate::model::Content;
use crate::params::{insert_flat, FilePart, Params};
use crate::render::{self, Format};
use crate::shaping;
use crate::Sim;

/// Size of the pieces a download is streamed in.
const DOWNLOAD_CHUNK: usize = 256 << 10;

/// The simulator's router.
pub fn router(sim: Arc<Sim>) -> Router {
    Router::new()
        .route("/api_v3", any(api_handler))
        .route("/api_v3/", any(api_handler))
        .route("/api_v3/{*path}", any(api_handler))
        .route("/p/{pid}/sp/{sp}/serveFlavor/{*rest}", get(download))
        .route("/p/{pid}/sp/{sp}/serveCaption/{*rest}", get(serve_caption))
        .route("/p/{pid}/sp/{sp}/thumbnail/{*rest}", get(serve_thumbnail))
        .merge(crate::control::routes())
        .fallback(|| async {
            (
                StatusCode::NOT_FOUND,
                "not a Kaltura API or simulator path\n",
            )
        })
        .layer(DefaultBodyLimit::disable())
        .with_state(sim)
}

/// Service, action and path-pair parameters from `/api_v3/service/{s}/action/{a}/k/v/...`.
fn parse_path(path: &str) -> (Option<String>, Option<String>, Vec<(String, String)>) {
    let segs: Vec<&str> = path
        .trim_start_matches("/api_v3")
        .split('/')
        .filter(|s| !s.is_empty())
        .collect();
    let mut service = None;
    let mut action = None;
    let mut pairs = Vec::new();
    let mut i = 0;
    while i + 1 < segs.len() {
        let (k, v) = (segs[i], segs[i + 1]);
        match k {
            "service" if service.is_none() => service = Some(v.to_string()),
            "action" if action.is_none() => action = Some(v.to_string()),
            _ => pairs.push((k.to_string(), v.to_string())),
        }
        i += 2;
    }
    (service, action, pairs)
}

fn base_name(filename: &str) -> String {
    filename
        .rsplit(['/', '\\'])
        .next()
        .unwrap_or("")
        .to_string()
}

/// Decodes a request into parameters: a JSON body only with `Content-Type: application/json`
/// exactly; multipart with a `json` part plus files (or plain fields); url-encoded forms;
/// then the query string and path pairs on top.
async fn decode(req: Request) -> Result<(Params, String), Response> {
    let path = req.uri().path().to_string();
    let query = req.uri().query().unwrap_or("").to_string();
    let ct = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let ct_lower = ct.to_ascii_lowercase();
    let mut params = Params::default();
    if ct_lower.starts_with("multipart/form-data") {
        // A body that is not valid multipart (or is cut off) fails the call as a broken upload,
        // never with a partial file.
        let broken = || {
            let (ct, body) = render::render(Format::Xml, &Err(codes::upload_error()));
            respond(StatusCode::OK, ct, body)
        };
        let mut mp = Multipart::from_request(req, &())
            .await
            .map_err(|_| broken())?;
        let mut form_fields = Vec::new();
        while let Some(field) = mp.next_field().await.map_err(|_| broken())? {
            let name = field.name().unwrap_or("").to_string();
            let file_name = field.file_name().map(base_name);
            let data = field.bytes().await.map_err(|_| broken())?;
            if name == "json" && file_name.is_none() {
                if let Ok(Value::Object(o)) = serde_json::from_slice::<Value>(&data) {
                    params.tree = o;
                }
            } else if file_name.is_some() || name.ends_with("fileData") {
                params.files.insert(
                    name,
                    FilePart {
                        file_name: file_name.unwrap_or_default(),
                        data,
                    },
                );
            } else {
                form_fields.push((name, String::from_utf8_lossy(&data).into_owned()));
            }
        }
        if params.tree.is_empty() {
            for (k, v) in form_fields {
                insert_flat(&mut params.tree, &k, &v);
            }
        }
    } else {
        let body = axum::body::to_bytes(req.into_body(), usize::MAX)
            .await
            .unwrap_or_default();
        if ct_lower == "application/json" {
            let text = String::from_utf8_lossy(&body);
            let t = text.trim();
            if t.starts_with('{') && t.ends_with('}') {
                if let Ok(Value::Object(o)) = serde_json::from_str::<Value>(t) {
                    params.tree = o;
                }
            }
        } else if ct_lower.starts_with("application/x-www-form-urlencoded") {
            let pairs: Vec<(String, String)> =
                serde_urlencoded::from_bytes(&body).unwrap_or_default();
            for (k, v) in pairs {
                insert_flat(&mut params.tree, &k, &v);
            }
        }
    }
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(&query).unwrap_or_default();
    for (k, v) in pairs {
        insert_flat(&mut params.tree, &k, &v);
    }
    let (service, action, path_pairs) = parse_path(&path);
    for (k, v) in path_pairs {
        insert_flat(&mut params.tree, &k, &v);
    }
    if let Some(s) = service {
        params.tree.insert("service".into(), Value::String(s));
    }
    if let Some(a) = action {
        params.tree.insert("action".into(), Value::String(a));
    }
    Ok((params, ct))
}

fn respond(status: StatusCode, content_type: &'static str, body: String) -> Response {
    let mut r = (status, body).into_response();
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    r.headers_mut()
        .insert("x-me", HeaderValue::from_static("kaltura-sim"));
    r
}

/// The value after `name` in a path of `name/value` pairs.
fn path_value(rest: &str, name: &str) -> Option<String> {
    let segs: Vec<&str> = rest.split('/').collect();
    segs.windows(2)
        .find(|w| w[0] == name)
        .map(|w| w[1].to_string())
}

/// A caption file, as `caption_captionasset.getUrl` points to it.
async fn serve_caption(
    State(sim): State<Arc<Sim>>,
    Path((_pid, _sp, rest)): Path<(String, String, String)>,
) -> Response {
    sim.count("servecaption");
    let found = {
        let w = sim.world.lock().expect("world lock");
        path_value(&rest, "captionAssetId").and_then(|id| crate::api::caption::find(&w, &id))
    };
    match found {
        Some(c) => respond(
            StatusCode::OK,
            "text/plain; charset=utf-8",
            crate::api::caption::content(&c),
        ),
        None => respond(
            StatusCode::NOT_FOUND,
            "text/plain",
            "404 Not Found\n".into(),
        ),
    }
}

/// An entry's thumbnail (`thumbnailUrl`): a small JPEG naming the entry.
async fn serve_thumbnail(
    State(sim): State<Arc<Sim>>,
    Path((_pid, _sp, rest)): Path<(String, String, String)>,
) -> Response {
    sim.count("servethumbnail");
    let id = path_value(&rest, "entry_id").filter(|id| {
        let w = sim.world.lock().expect("world lock");
        w.entry_index.contains_key(id)
    });
    match id {
        Some(id) => {
            let mut r = Response::new(Body::from(crate::api::caption::thumbnail(&id)));
            r.headers_mut()
                .insert(header::CONTENT_TYPE, HeaderValue::from_static("image/jpeg"));
            r
        }
        None => respond(
            StatusCode::NOT_FOUND,
            "text/plain",
            "404 Not Found\n".into(),
        ),
    }
}

/// A response whose body fails at once: the client sees the connection cut.
fn dropped() -> Response {
    let s = stream::once(async {
        Err::<Bytes, io::Error>(io::Error::other("fault: connection dropped"))
    });
    Response::new(Body::from_stream(s))
}

async fn http_fault(sim: &Sim, scope: &str) -> Option<Response> {
    let delay = sim.faults.latency(scope);
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    match sim.faults.http_fault(scope) {
        HttpFault::None => None,
        HttpFault::ServiceUnavailable => Some(respond(
            StatusCode::SERVICE_UNAVAILABLE,
            "text/html",
            "<html><body><h1>503 Service Temporarily Unavailable</h1></body></html>".into(),
        )),
        HttpFault::Drop => Some(dropped()),
    }
}

async fn api_handler(State(sim): State<Arc<Sim>>, req: Request) -> Response {
    sim.count("http.api");
    let accepts_gzip = req
        .headers()
        .get(header::ACCEPT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.to_ascii_lowercase().contains("gzip"));
    let (mut params, _ct) = match decode(req).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    let service = params
        .tree
        .remove("service")
        .and_then(|v| crate::params::to_string(&v))
        .unwrap_or_default();
    let action = params
        .tree
        .remove("action")
        .and_then(|v| crate::params::to_string(&v))
        .unwrap_or_default();
    let format = match params.tree.get("format") {
        None | Some(Value::Null) => Format::Xml,
        Some(v) => match crate::params::to_i64(v) {
            Some(1) => Format::Json,
            Some(2) => Format::Xml,
            _ => {
                let f = crate::params::to_string(v).unwrap_or_default();
                let e = codes::unknown_response_format(&f);
                return respond(
                    StatusCode::OK,
                    "text/plain",
                    format!("{}: {}\n", e.code, e.message),
                );
            }
        },
    };
    // `ignoreNull=1` asks XML to leave null fields out (JSON always does).
    let ignore_null = params
        .tree
        .get("ignoreNull")
        .and_then(crate::params::to_i64)
        == Some(1);
    let format = match format {
        Format::Xml if ignore_null => Format::XmlIgnoreNull,
        f => f,
    };
    let is_multi = service.eq_ignore_ascii_case("multirequest");
    let scope = if is_multi {
        "multirequest".to_string()
    } else {
        format!("{}.{}", service, action).to_lowercase()
    };
    if let Some(r) = http_fault(&sim, &scope).await {
        return r;
    }
    let (ct, body) = if is_multi {
        sim.count("multirequest");
        let outcomes = api::execute_multi(&sim, params).await;
        render::render_multi(format, &outcomes)
    } else if service.is_empty() {
        render::render(format, &Err(codes::missing_parameter("service")))
    } else if action.is_empty() {
        render::render(format, &Err(codes::missing_parameter("action")))
    } else {
        let outcome = api::execute(&sim, &service, &action, params).await;
        render::render(format, &outcome)
    };
    let gzip = accepts_gzip && sim.world.lock().expect("world lock").settings.gzip;
    if gzip {
        return respond_gzip(ct, body);
    }
    respond(StatusCode::OK, ct, body)
}

/// A response compressed with `Content-Encoding: gzip`, as a web tier in front of Kaltura may send
/// it to clients that accept gzip (kaltura-api.md §1.5).
fn respond_gzip(content_type: &'static str, body: String) -> Response {
    use std::io::Write;
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    let compressed = enc.write_all(body.as_bytes()).and_then(|_| enc.finish());
    let Ok(bytes) = compressed else {
        return respond(StatusCode::OK, content_type, body);
    };
    let mut r = Response::new(Body::from(bytes));
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    r.headers_mut()
        .insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
    r.headers_mut()
        .insert("x-me", HeaderValue::from_static("kaltura-sim"));
    r
}

/// Parses a `Range: bytes=…` header against a length: `Ok(None)` = whole, `Err` = unsatisfiable.
fn parse_range(headers: &HeaderMap, len: u64) -> Result<Option<(u64, u64)>, ()> {
    let Some(r) = headers.get(header::RANGE).and_then(|v| v.to_str().ok()) else {
        return Ok(None);
    };
    let Some(spec) = r.trim().strip_prefix("bytes=") else {
        return Ok(None);
    };
    if spec.contains(',') {
        return Ok(None); // multiple ranges: serve the whole body, as many servers do
    }
    let (a, b) = spec.split_once('-').ok_or(())?;
    let (start, end) = match (a.trim(), b.trim()) {
        ("", n) => {
            let n: u64 = n.parse().map_err(|_| ())?;
            (len.saturating_sub(n), len.saturating_sub(1))
        }
        (s, "") => (s.parse().map_err(|_| ())?, len.saturating_sub(1)),
        (s, e) => (
            s.parse().map_err(|_| ())?,
            e.parse::<u64>().map_err(|_| ())?.min(len.saturating_sub(1)),
        ),
    };
    if start >= len || start > end {
        return Err(());
    }
    Ok(Some((start, end + 1)))
}

type ByteStream = std::pin::Pin<Box<dyn Stream<Item = Result<Bytes, io::Error>> + Send>>;

fn generated_stream(key: u64, start: u64, end: u64, cut_at: Option<u64>) -> ByteStream {
    Box::pin(stream::unfold(start, move |pos| async move {
        if pos >= end {
            return None;
        }
        if cut_at.is_some_and(|c| pos >= c) {
            return Some((Err(io::Error::other("fault: connection dropped")), end));
        }
        let n = ((end - pos) as usize).min(DOWNLOAD_CHUNK);
        let mut buf = vec![0u8; n];
        content::fill(key, pos, &mut buf);
        Some((Ok(Bytes::from(buf)), pos + n as u64))
    }))
}

fn file_stream(path: std::path::PathBuf, start: u64, end: u64, cut_at: Option<u64>) -> ByteStream {
    Box::pin(stream::unfold(
        (None::<tokio::fs::File>, start),
        move |(file, pos)| {
            let path = path.clone();
            async move {
                if pos >= end {
                    return None;
                }
                if cut_at.is_some_and(|c| pos >= c) {
                    return Some((
                        Err(io::Error::other("fault: connection dropped")),
                        (None, end),
                    ));
                }
                let mut f = match file {
                    Some(f) => f,
                    None => {
                        let mut f = match tokio::fs::File::open(&path).await {
                            Ok(f) => f,
                            Err(e) => return Some((Err(e), (None, end))),
                        };
                        if let Err(e) = f.seek(io::SeekFrom::Start(pos)).await {
                            return Some((Err(e), (None, end)));
                        }
                        f
                    }
                };
                let n = ((end - pos) as usize).min(DOWNLOAD_CHUNK);
                let mut buf = vec![0u8; n];
                match f.read_exact(&mut buf).await {
                    Ok(_) => Some((Ok(Bytes::from(buf)), (Some(f), pos + n as u64))),
                    Err(e) => Some((Err(e), (None, end))),
                }
            }
        },
    ))
}

async fn download(
    State(sim): State<Arc<Sim>>,
    Path((_pid, _sp, rest)): Path<(String, String, String)>,
    headers: HeaderMap,
) -> Response {
    sim.count("serveflavor");
    let segs: Vec<&str> = rest.split('/').collect();
    let flavor_id = segs
        .windows(2)
        .find(|w| w[0] == "flavorId")
        .map(|w| w[1].to_string());
    let delay = sim.faults.latency("serveflavor");
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    let fault = sim.faults.http_fault("serveflavor");
    if fault == HttpFault::ServiceUnavailable {
        return respond(
            StatusCode::SERVICE_UNAVAILABLE,
            "text/plain",
            "503 Service Unavailable\n".into(),
        );
    }
    let found = {
        let w = sim.world.lock().expect("world lock");
        flavor_id.and_then(|id| w.flavor_idx(&id).ok()).map(|i| {
            (
                w.flavors[i].content.clone(),
                w.flavors[i].size_bytes,
                w.flavors[i].file_ext.clone(),
            )
        })
    };
    let Some((content, len, ext)) = found else {
        return respond(
            StatusCode::NOT_FOUND,
            "text/plain",
            "404 Not Found\n".into(),
        );
    };
    let (status, start, end) = match parse_range(&headers, len) {
        Ok(None) => (StatusCode::OK, 0, len),
        Ok(Some((s, e))) => (StatusCode::PARTIAL_CONTENT, s, e),
        Err(()) => {
            let mut r = respond(
                StatusCode::RANGE_NOT_SATISFIABLE,
                "text/plain",
                String::new(),
            );
            r.headers_mut().insert(
                header::CONTENT_RANGE,
                HeaderValue::from_str(&format!("bytes */{len}")).expect("ascii"),
            );
            return r;
        }
    };
    let cut_at = (fault == HttpFault::Drop).then_some(start + (end - start) / 2);
    let body = match content {
        Content::Generated { key } => generated_stream(key, start, end, cut_at),
        Content::Spooled { path } => file_stream(path, start, end, cut_at),
    };
    let rate = shaping::bytes_per_sec(sim.world.lock().expect("world lock").settings.download_mbps);
    let mut r = Response::new(Body::from_stream(shaping::throttle(body, rate)));
    *r.status_mut() = status;
    let h = r.headers_mut();
    let mime = if ext == "mov" {
        "video/quicktime"
    } else {
        "video/mp4"
    };
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(mime));
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(end - start));
    h.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    if status == StatusCode::PARTIAL_CONTENT {
        h.insert(
            header::CONTENT_RANGE,
            HeaderValue::from_str(&format!("bytes {start}-{}/{len}", end - 1)).expect("ascii"),
        );
    }
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_gives_service_action_and_pairs() {
        let (s, a, p) = parse_path("/api_v3/service/media/action/get/entryId/0_abc");
        assert_eq!((s.as_deref(), a.as_deref()), (Some("media"), Some("get")));
        assert_eq!(p, vec![("entryId".to_string(), "0_abc".to_string())]);
        let (s, a, _) = parse_path("/api_v3/service/multirequest");
        assert_eq!((s.as_deref(), a), (Some("multirequest"), None));
    }

    #[test]
    fn ranges_parse_like_http() {
        let mut h = HeaderMap::new();
        h.insert(header::RANGE, HeaderValue::from_static("bytes=10-19"));
        assert_eq!(parse_range(&h, 100), Ok(Some((10, 20))));
        h.insert(header::RANGE, HeaderValue::from_static("bytes=-10"));
        assert_eq!(parse_range(&h, 100), Ok(Some((90, 100))));
        h.insert(header::RANGE, HeaderValue::from_static("bytes=95-"));
        assert_eq!(parse_range(&h, 100), Ok(Some((95, 100))));
        h.insert(header::RANGE, HeaderValue::from_static("bytes=100-"));
        assert_eq!(parse_range(&h, 100), Err(()));
    }
}
