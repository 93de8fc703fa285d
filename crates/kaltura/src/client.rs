//! The client: settings, the session (started on first use, renewed before it expires and once on
//! `INVALID_KS`), and the one function that sends a call, folds Kaltura's in-body errors into
//! [`Error`], and retries what is safe to retry.

use secrecy::{ExposeSecret, SecretString};
use serde_json::{json, Map, Value};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::error::{Error, Result};
use crate::retry::RetryPolicy;

/// The SaaS service URL, the default.
pub const DEFAULT_SERVICE_URL: &str = "https://www.kaltura.com";
/// Sessions are renewed when less than this much of their lifetime is left.
const RENEW_MARGIN: Duration = Duration::from_secs(300);
/// Requested session lifetime (the service may cap it).
const SESSION_SECONDS: i64 = 86_400;

/// Settings of a [`Client`].
#[derive(Debug, Clone)]
pub struct ClientBuilder {
    service_url: String,
    partner_id: Option<i64>,
    secret: Option<SecretString>,
    user_id: String,
    retry: RetryPolicy,
    timeout: Duration,
    client_tag: String,
    ca_bundle: Option<Vec<u8>>,
}

impl Default for ClientBuilder {
    fn default() -> Self {
        ClientBuilder {
            service_url: DEFAULT_SERVICE_URL.into(),
            partner_id: None,
            secret: None,
            user_id: String::new(),
            retry: RetryPolicy::default(),
            timeout: Duration::from_secs(120),
            client_tag: concat!("kaltura-archiver:", env!("CARGO_PKG_VERSION")).into(),
            ca_bundle: None,
        }
    }
}

impl ClientBuilder {
    /// Service URL without `/api_v3` (SaaS, a regional host, or an on-prem Kaltura).
    pub fn with_service_url(mut self, url: impl Into<String>) -> Self {
        self.service_url = url.into();
        self
    }
    /// Partner id.
    pub fn with_partner_id(mut self, id: i64) -> Self {
        self.partner_id = Some(id);
        self
    }
    /// Admin secret.
    pub fn with_secret(mut self, secret: SecretString) -> Self {
        self.secret = Some(secret);
        self
    }
    /// User id recorded on sessions.
    pub fn with_user_id(mut self, user: impl Into<String>) -> Self {
        self.user_id = user.into();
        self
    }
    /// Retry policy.
    pub fn with_retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }
    /// Timeout of one HTTP request.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Certificate authorities (PEM) trusted beside the platform's and the Mozilla roots: an
    /// on-premises Kaltura whose certificate a private CA signed.
    pub fn with_ca_bundle(mut self, pem: Vec<u8>) -> Self {
        self.ca_bundle = Some(pem);
        self
    }

    /// Validates the settings and builds the client (no network yet).
    pub fn build(self) -> Result<Client> {
        let url = self.service_url.trim().trim_end_matches('/').to_string();
        if !(url.starts_with("http://") || url.starts_with("https://")) {
            return Err(Error::Config(format!(
                "the Kaltura service URL {url:?} must start with http:// or https:// (e.g. {DEFAULT_SERVICE_URL})"
            )));
        }
        if url.ends_with("/api_v3") {
            return Err(Error::Config(format!(
                "the Kaltura service URL {url:?} must not end with /api_v3; give the host only, e.g. {DEFAULT_SERVICE_URL}"
            )));
        }
        let partner_id = self.partner_id.filter(|p| *p > 0).ok_or_else(|| {
            Error::Config("the Kaltura partner id is missing or not a positive number".into())
        })?;
        let secret = self
            .secret
            .filter(|s| !s.expose_secret().is_empty())
            .ok_or_else(|| Error::Config("the Kaltura admin secret is missing".into()))?;
        let mut http = reqwest::Client::builder()
            .timeout(self.timeout)
            .connect_timeout(Duration::from_secs(15));
        if let Some(pem) = &self.ca_bundle {
            let certs = reqwest::Certificate::from_pem_bundle(pem)
                .ok()
                .filter(|c| !c.is_empty())
                .ok_or_else(|| {
                    Error::Config(
                        "the CA bundle holds no PEM certificate (-----BEGIN CERTIFICATE-----)"
                            .into(),
                    )
                })?;
            for c in certs {
                http = http.add_root_certificate(c);
            }
        }
        let http = http
            .build()
            .map_err(|e| Error::Config(format!("could not set up HTTP: {e}")))?;
        Ok(Client {
            inner: Arc::new(Inner {
                http,
                url,
                partner_id,
                secret,
                user_id: self.user_id,
                retry: self.retry,
                client_tag: self.client_tag,
                session: tokio::sync::Mutex::new(None),
            }),
        })
    }
}

struct Session {
    ks: SecretString,
    renew_at: Instant,
}

struct Inner {
    http: reqwest::Client,
    url: String,
    partner_id: i64,
    secret: SecretString,
    user_id: String,
    retry: RetryPolicy,
    client_tag: String,
    session: tokio::sync::Mutex<Option<Session>>,
}

/// A Kaltura API client (cheap to clone; clones share the session).
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("service_url", &self.inner.url)
            .field("partner_id", &self.inner.partner_id)
            .finish_non_exhaustive()
    }
}

/// Whether a call may be sent again after a failure whose effect is unknown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Idempotence {
    /// Reads, and writes that set a value (repeating them changes nothing).
    Safe,
    /// Calls that create or consume something; retried only when the service refused to run them.
    Unsafe,
}

impl Client {
    /// Settings for a new client.
    pub fn builder() -> ClientBuilder {
        ClientBuilder::default()
    }

    /// The service URL.
    pub fn service_url(&self) -> &str {
        &self.inner.url
    }

    /// The partner id.
    pub fn partner_id(&self) -> i64 {
        self.inner.partner_id
    }

    /// Starts a session now (to check the credentials).
    pub async fn login(&self) -> Result<()> {
        self.ks().await.map(|_| ())
    }

    async fn ks(&self) -> Result<SecretString> {
        let mut guard = self.inner.session.lock().await;
        if let Some(s) = guard.as_ref() {
            if Instant::now() < s.renew_at {
                return Ok(s.ks.clone());
            }
        }
        let params = json!({
            "secret": self.inner.secret.expose_secret(),
            "userId": self.inner.user_id,
            "type": 2,
            "partnerId": self.inner.partner_id,
            "expiry": SESSION_SECONDS,
            "privileges": "disableentitlement",
        });
        let Value::Object(params) = params else {
            unreachable!("json! object")
        };
        let started = Instant::now();
        let v = self
            .with_retries("session.start", Idempotence::Safe, || {
                self.send("session", "start", params.clone(), None)
            })
            .await?;
        let ks = v.as_str().ok_or_else(|| Error::Decode {
            action: "session.start".into(),
            detail: "the session is not a string".into(),
        })?;
        let ks = SecretString::from(ks.to_string());
        let lifetime = Duration::from_secs(SESSION_SECONDS as u64);
        *guard = Some(Session {
            ks: ks.clone(),
            renew_at: started + lifetime.saturating_sub(RENEW_MARGIN),
        });
        Ok(ks)
    }

    async fn drop_session(&self, failed: &SecretString) {
        let mut guard = self.inner.session.lock().await;
        if guard
            .as_ref()
            .is_some_and(|s| s.ks.expose_secret() == failed.expose_secret())
        {
            *guard = None;
        }
    }

    /// Calls `service.action` with `params` and returns the result value: starts or renews the
    /// session as needed, renews once on `INVALID_KS`, retries transient failures for
    /// [`Idempotence::Safe`] calls.
    pub async fn call(
        &self,
        service: &str,
        action: &str,
        params: Map<String, Value>,
        idem: Idempotence,
    ) -> Result<Value> {
        self.call_with(service, action, params, None, idem).await
    }

    /// Calls `service.action` with a file part (`fileData`), with the same session handling and
    /// retries as [`Client::call`].
    pub(crate) async fn call_file(
        &self,
        service: &str,
        action: &str,
        params: Map<String, Value>,
        file_name: &str,
        data: bytes::Bytes,
        idem: Idempotence,
    ) -> Result<Value> {
        self.call_with(service, action, params, Some((file_name, data)), idem)
            .await
    }

    async fn call_with(
        &self,
        service: &str,
        action: &str,
        params: Map<String, Value>,
        file: Option<(&str, bytes::Bytes)>,
        idem: Idempotence,
    ) -> Result<Value> {
        let name = if action.is_empty() {
            service.to_string()
        } else {
            format!("{service}.{action}")
        };
        let mut renewed = false;
        loop {
            let ks = self.ks().await?;
            let r = self
                .with_retries(&name, idem, || async {
                    match &file {
                        None => self.send(service, action, params.clone(), Some(&ks)).await,
                        Some((file_name, data)) => {
                            let p = params.clone();
                            self.send_file(service, action, p, file_name, data.clone(), &ks)
                                .await
                        }
                    }
                })
                .await;
            match r {
                Err(e) if e.is_invalid_session() && !renewed => {
                    tracing::info!(action = %name, "session no longer valid; starting a new one");
                    renewed = true;
                    self.drop_session(&ks).await;
                }
                other => return other,
            }
        }
    }

    /// Runs `attempt` until it succeeds, fails for good, or the retry budget is spent.
    async fn with_retries<F, Fut>(&self, name: &str, idem: Idempotence, attempt: F) -> Result<Value>
    where
        F: Fn() -> Fut,
        Fut: std::future::Future<Output = Result<Value>>,
    {
        let policy = &self.inner.retry;
        let start = Instant::now();
        let mut n = 0u32;
        loop {
            n += 1;
            let err = match attempt().await {
                Ok(v) => return Ok(v),
                Err(e) => e,
            };
            // A call that creates or consumes something is repeated only when the service said it
            // did not run it (throttled); otherwise the caller decides.
            let retry = err.is_transient() && (idem == Idempotence::Safe || err.is_throttled());
            if !retry {
                return Err(err);
            }
            let delay = policy.delay(n, err.is_throttled());
            if n >= policy.max_attempts || start.elapsed() + delay > policy.max_elapsed {
                return Err(Error::RetriesExhausted {
                    action: name.to_string(),
                    attempts: n,
                    elapsed: start.elapsed(),
                    last: Box::new(err),
                });
            }
            // Info: a front end shows it to a person at a terminal (the wait is visible), while
            // logs and one-line errors stay clean.
            tracing::info!(
                action = name,
                attempt = n,
                max = policy.max_attempts,
                delay_ms = delay.as_millis() as u64,
                "Kaltura did not answer {name} ({err}); retrying in {:.1} s, {n} of {}",
                delay.as_secs_f64(),
                policy.max_attempts
            );
            tokio::time::sleep(delay).await;
        }
    }

    /// One HTTP request: JSON body with `Content-Type: application/json` exactly (a charset makes
    /// the service ignore the body), `format=1`; API exceptions in the body become [`Error::Api`].
    async fn send(
        &self,
        service: &str,
        action: &str,
        params: Map<String, Value>,
        ks: Option<&SecretString>,
    ) -> Result<Value> {
        let name = format!("{service}.{action}");
        let params = self.common_params(params, ks);
        let body = serde_json::to_vec(&Value::Object(params)).map_err(|e| Error::Decode {
            action: name.clone(),
            detail: e.to_string(),
        })?;
        let req = self
            .inner
            .http
            .post(self.action_url(service, action))
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body);
        self.finish(&name, req).await
    }

    /// One multipart request: a `json` part with the parameters and a `fileData` part (with a
    /// file name, which the service requires), sent with a `Content-Length`.
    pub(crate) async fn send_file(
        &self,
        service: &str,
        action: &str,
        params: Map<String, Value>,
        file_name: &str,
        data: bytes::Bytes,
        ks: &SecretString,
    ) -> Result<Value> {
        let name = format!("{service}.{action}");
        let params = self.common_params(params, Some(ks));
        let json = serde_json::to_string(&Value::Object(params)).map_err(|e| Error::Decode {
            action: name.clone(),
            detail: e.to_string(),
        })?;
        let len = data.len() as u64;
        let file = reqwest::multipart::Part::stream_with_length(data, len)
            .file_name(file_name.to_string())
            .mime_str("application/octet-stream")
            .map_err(|e| Error::Config(e.to_string()))?;
        let form = reqwest::multipart::Form::new()
            .text("json", json)
            .part("fileData", file);
        let req = self
            .inner
            .http
            .post(self.action_url(service, action))
            .multipart(form);
        self.finish(&name, req).await
    }

    /// The shared HTTP client (downloads use it too).
    pub(crate) fn http(&self) -> &reqwest::Client {
        &self.inner.http
    }

    fn action_url(&self, service: &str, action: &str) -> String {
        if action.is_empty() {
            // `multirequest` has no action segment.
            return format!("{}/api_v3/service/{service}", self.inner.url);
        }
        format!(
            "{}/api_v3/service/{service}/action/{action}",
            self.inner.url
        )
    }

    fn common_params(
        &self,
        mut params: Map<String, Value>,
        ks: Option<&SecretString>,
    ) -> Map<String, Value> {
        params.insert("format".into(), json!(1));
        params.insert("clientTag".into(), json!(self.inner.client_tag));
        if let Some(ks) = ks {
            params.insert("ks".into(), json!(ks.expose_secret()));
        }
        params
    }

    /// Sends a request and turns the answer into a value or an error.
    async fn finish(&self, name: &str, req: reqwest::RequestBuilder) -> Result<Value> {
        let started = Instant::now();
        let transport = |e: reqwest::Error| Error::Transport {
            action: name.to_string(),
            url: self.inner.url.clone(),
            detail: describe(&e),
        };
        let resp = req
            .header(reqwest::header::ACCEPT, "application/json")
            .send()
            .await
            .map_err(transport)?;
        let status = resp.status();
        let bytes = resp.bytes().await.map_err(transport)?;
        tracing::debug!(action = %name, status = status.as_u16(), ms = started.elapsed().as_millis() as u64, bytes = bytes.len(), "kaltura call");
        if !status.is_success() {
            return Err(Error::Http {
                action: name.to_string(),
                status: status.as_u16(),
            });
        }
        let v: Value = serde_json::from_slice(&bytes).map_err(|e| Error::Decode {
            action: name.to_string(),
            detail: format!("the body is not JSON ({e}); is the service URL a Kaltura API?"),
        })?;
        api_error(name, &v).map_or(Ok(v), Err)
    }
}

/// The one place that turns a Kaltura exception object into an error (also for multirequest items).
pub fn api_error(action: &str, v: &Value) -> Option<Error> {
    let o = v.as_object()?;
    let is_error = o.get("objectType").and_then(Value::as_str) == Some("KalturaAPIException")
        || (o.contains_key("code") && o.contains_key("message"));
    if !is_error {
        return None;
    }
    let text = |k: &str| {
        o.get(k)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string()
    };
    let args = match o.get("args") {
        Some(Value::Object(a)) => a
            .iter()
            .map(|(k, v)| {
                (
                    k.clone(),
                    v.as_str()
                        .map(str::to_string)
                        .unwrap_or_else(|| v.to_string()),
                )
            })
            .collect(),
        _ => Default::default(),
    };
    Some(Error::Api {
        action: action.to_string(),
        code: text("code"),
        message: text("message"),
        args,
    })
}

/// A transport error in words, without the URL (reqwest's own text names it; ours is given apart).
pub(crate) fn describe(e: &reqwest::Error) -> String {
    let mut source = std::error::Error::source(e);
    let mut root = String::new();
    while let Some(s) = source {
        root = s.to_string();
        source = s.source();
    }
    let tls = ["certificate", "tls", "handshake", "peer"]
        .iter()
        .any(|w| root.to_lowercase().contains(w));
    let kind = if tls {
        "TLS failed"
    } else if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "connection refused or host unreachable"
    } else if e.is_body() || e.is_decode() {
        "the connection broke while reading the answer"
    } else {
        "request failed"
    };
    if root.is_empty() {
        kind.to_string()
    } else {
        format!("{kind} ({root})")
    }
}
