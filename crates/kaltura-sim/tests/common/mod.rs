//! Shared helpers for the simulator's HTTP tests: start a simulator in-process on 127.0.0.1:0 and
//! talk to it over real HTTP with JSON (`format=1`), as the archiver's client will.
#![allow(dead_code)]

pub mod cursor;

use kaltura_sim::{SimConfig, SimServer};
use serde_json::{json, Value};

pub const SECRET: &str = "test-admin-secret";
pub const PARTNER: i64 = 321;

/// A running simulator plus an HTTP client with an admin KS.
pub struct Sim {
    pub server: SimServer,
    pub http: reqwest::Client,
    pub base: String,
    pub ks: String,
}

pub fn config(entries: usize) -> SimConfig {
    SimConfig {
        partner_id: PARTNER,
        admin_secret: SECRET.into(),
        entries,
        seed: 11,
        ..SimConfig::default()
    }
}

impl Sim {
    pub async fn start(config: SimConfig) -> Sim {
        let server = SimServer::start(config).await.expect("simulator starts");
        let base = server.base_url();
        let http = reqwest::Client::new();
        let mut sim = Sim {
            server,
            http,
            base,
            ks: String::new(),
        };
        sim.ks = sim.new_ks().await;
        sim
    }

    pub async fn new_ks(&self) -> String {
        let ks = self
            .call_without_ks(
                "session",
                "start",
                json!({"secret": SECRET, "partnerId": PARTNER, "type": 2, "userId": "tester"}),
            )
            .await;
        ks.as_str()
            .expect("session.start returns a string")
            .to_string()
    }

    /// POSTs a JSON call and returns the parsed JSON body (errors included), asserting HTTP 200.
    pub async fn call_without_ks(&self, service: &str, action: &str, mut params: Value) -> Value {
        params["format"] = json!(1);
        let url = format!("{}/api_v3/service/{service}/action/{action}", self.base);
        let r = self
            .http
            .post(url)
            .json(&params)
            .send()
            .await
            .expect("request sent");
        assert_eq!(
            r.status(),
            200,
            "API answers with HTTP 200, errors included"
        );
        assert_eq!(r.headers()["content-type"], "application/json");
        r.json().await.expect("JSON body")
    }

    /// A call with the test's KS.
    pub async fn call(&self, service: &str, action: &str, mut params: Value) -> Value {
        if params.get("ks").is_none() {
            params["ks"] = json!(self.ks);
        }
        self.call_without_ks(service, action, params).await
    }

    /// A call that must succeed.
    pub async fn ok(&self, service: &str, action: &str, params: Value) -> Value {
        let v = self.call(service, action, params).await;
        assert!(error_code(&v).is_none(), "{service}.{action} failed: {v}");
        v
    }

    /// A call that must fail with `code`; returns the error object.
    pub async fn fails(&self, service: &str, action: &str, params: Value, code: &str) -> Value {
        let v = self.call(service, action, params).await;
        assert_eq!(error_code(&v), Some(code), "{service}.{action}: {v}");
        v
    }

    pub async fn control(&self, route: &str, body: Value) -> Value {
        let r = self
            .http
            .post(format!("{}{route}", self.base))
            .json(&body)
            .send()
            .await
            .expect("control call");
        assert!(r.status().is_success(), "control {route}: {}", r.status());
        r.json().await.expect("JSON")
    }

    /// GET of a control route, as JSON.
    pub async fn get_json(&self, route: &str) -> Value {
        let r = self
            .http
            .get(format!("{}{route}", self.base))
            .send()
            .await
            .expect("control call");
        r.json().await.expect("JSON")
    }

    pub async fn state(&self) -> Value {
        self.get_json("/sim/state").await
    }

    pub async fn counters(&self) -> Value {
        self.get_json("/sim/counters").await
    }

    /// Entries of a list call.
    pub async fn list(&self, filter: Value, pager: Value) -> Value {
        self.ok("media", "list", json!({"filter": filter, "pager": pager}))
            .await
    }

    /// Uploads bytes in `chunks` sequential chunks; returns the token id.
    pub async fn upload(&self, bytes: &[u8], chunks: usize) -> String {
        let token = self.ok("uploadToken", "add", json!({"uploadToken": {"objectType": "KalturaUploadToken", "fileName": "video.mp4", "fileSize": bytes.len()}})).await;
        let id = token["id"].as_str().unwrap().to_string();
        let step = bytes.len().div_ceil(chunks.max(1)).max(1);
        let mut offset = 0;
        let mut first = true;
        while offset < bytes.len() || first {
            let end = (offset + step).min(bytes.len());
            let last = end == bytes.len();
            let t = self
                .upload_chunk(
                    &id,
                    &bytes[offset..end],
                    !first,
                    last,
                    offset as i64,
                    Some("clip.mp4"),
                )
                .await;
            assert!(error_code(&t).is_none(), "upload chunk at {offset}: {t}");
            first = false;
            offset = end;
        }
        id
    }

    /// One `uploadToken.upload` call in the official clients' multipart layout.
    pub async fn upload_chunk(
        &self,
        token: &str,
        data: &[u8],
        resume: bool,
        final_chunk: bool,
        resume_at: i64,
        file_name: Option<&str>,
    ) -> Value {
        let json_part = json!({"format": 1, "ks": self.ks, "uploadTokenId": token, "resume": resume, "finalChunk": final_chunk, "resumeAt": resume_at});
        let mut file = reqwest::multipart::Part::bytes(data.to_vec())
            .mime_str("application/octet-stream")
            .unwrap();
        if let Some(n) = file_name {
            file = file.file_name(n.to_string());
        }
        let form = reqwest::multipart::Form::new()
            .text("json", json_part.to_string())
            .part("fileData", file);
        let url = format!("{}/api_v3/service/uploadtoken/action/upload", self.base);
        let r = self
            .http
            .post(url)
            .multipart(form)
            .send()
            .await
            .expect("upload sent");
        r.json().await.expect("JSON")
    }

    /// Downloads a flavor through getUrl.
    pub async fn download(&self, flavor_id: &str) -> Vec<u8> {
        let url = self
            .ok("flavorAsset", "getUrl", json!({"id": flavor_id}))
            .await;
        let r = self.http.get(url.as_str().unwrap()).send().await.unwrap();
        assert_eq!(r.status(), 200);
        r.bytes().await.unwrap().to_vec()
    }

    /// The flavors of an entry.
    pub async fn flavors(&self, entry_id: &str) -> Vec<Value> {
        let v = self.ok("flavorAsset", "list", json!({"filter": {"objectType": "KalturaFlavorAssetFilter", "entryIdEqual": entry_id}, "pager": {"pageSize": 500}})).await;
        v["objects"].as_array().unwrap().clone()
    }
}

pub fn error_code(v: &Value) -> Option<&str> {
    (v.get("objectType") == Some(&json!("KalturaAPIException")))
        .then(|| v["code"].as_str().unwrap_or(""))
}

pub fn ids(list: &Value) -> Vec<String> {
    list["objects"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["id"].as_str().unwrap().to_string())
        .collect()
}
