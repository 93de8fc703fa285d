//! The partner's state and the server-side rules that change it over time: the simulated clock,
//! id minting, conversion (ingestion) and replacement, plays and the analytics refresh, and the
//! search-index view that trails writes.

use serde_json::Value;
use std::collections::HashMap;
use std::path::PathBuf;
use std::time::{SystemTime, UNIX_EPOCH};

use crate::config::SimConfig;
use crate::content::{content_key, mix64};
use crate::error::{codes, ApiResult};
use crate::model::{
    entry_status, flavor_status, token_status, Category, Content, Entry, Flavor, Ingest, Session,
    UploadToken, FLAVOR_PARAMS,
};
use crate::wire::RenderCtx;

/// The whole simulated partner.
#[derive(Debug)]
pub struct World {
    /// How the partner was set up.
    pub settings: SimConfig,
    /// Base URL the simulator is reachable at (used in download URLs).
    pub base_url: String,
    /// Users' addresses set by a test (`None`: the user has none), over the generated ones.
    pub user_emails: HashMap<String, Option<String>>,
    /// Offset of the simulated clock from the real one (ms).
    pub clock_offset_ms: i64,
    /// Entries in creation order (deleted ones stay, with status DELETED).
    pub entries: Vec<Entry>,
    /// Entry id → index.
    pub entry_index: HashMap<String, usize>,
    /// Flavors in creation order (deleted ones stay).
    pub flavors: Vec<Flavor>,
    /// Flavor id → index.
    pub flavor_index: HashMap<String, usize>,
    /// Category tree.
    pub categories: Vec<Category>,
    /// Upload tokens.
    pub tokens: HashMap<String, UploadToken>,
    /// Sessions by KS string.
    pub sessions: HashMap<String, Session>,
    /// Plays recorded but not yet counted (entry id, time).
    pub pending_plays: Vec<(String, i64)>,
    /// Entries with a conversion in progress.
    pub ingesting: Vec<usize>,
    /// Current search-index lag (ms), from the fault rules.
    pub index_lag_ms: u64,
    /// Directory for uploaded bytes.
    pub spool_dir: PathBuf,
    next_id: u64,
}

impl World {
    /// An empty partner.
    pub fn new(settings: SimConfig, base_url: &str, spool_dir: PathBuf) -> Self {
        World {
            settings,
            base_url: base_url.to_string(),
            user_emails: HashMap::new(),
            clock_offset_ms: 0,
            entries: Vec::new(),
            entry_index: HashMap::new(),
            flavors: Vec::new(),
            flavor_index: HashMap::new(),
            categories: Vec::new(),
            tokens: HashMap::new(),
            sessions: HashMap::new(),
            pending_plays: Vec::new(),
            ingesting: Vec::new(),
            index_lag_ms: 0,
            spool_dir,
            next_id: 0,
        }
    }

    /// Simulated time in milliseconds.
    pub fn now_ms(&self) -> u64 {
        let real = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis() as i64)
            .unwrap_or(0);
        (real + self.clock_offset_ms).max(0) as u64
    }

    /// Simulated time in Unix seconds.
    pub fn now(&self) -> i64 {
        (self.now_ms() / 1000) as i64
    }

    /// Mints a fresh id: `0_` + 8 base-36 characters, or `0_` + 32 hex digits for tokens.
    pub fn new_id(&mut self, token: bool) -> String {
        loop {
            self.next_id += 1;
            let h = mix64(self.settings.seed ^ mix64(self.next_id));
            let id = if token {
                format!("0_{:016x}{:016x}", h, mix64(h))
            } else {
                let mut s = String::from("0_");
                let mut x = h;
                for _ in 0..8 {
                    let d = (x % 36) as u32;
                    s.push(std::char::from_digit(d, 36).expect("digit < 36"));
                    x /= 36;
                }
                s
            };
            if !self.entry_index.contains_key(&id)
                && !self.flavor_index.contains_key(&id)
                && !self.tokens.contains_key(&id)
            {
                return id;
            }
        }
    }

    /// Index of a live (not deleted) entry, or `ENTRY_ID_NOT_FOUND`.
    pub fn entry_idx(&self, id: &str) -> ApiResult<usize> {
        match self.entry_index.get(id) {
            Some(&i) if self.entries[i].status != entry_status::DELETED => Ok(i),
            _ => Err(codes::entry_not_found(id)),
        }
    }

    /// Index of a live (not deleted) flavor, or `FLAVOR_ASSET_ID_NOT_FOUND`.
    pub fn flavor_idx(&self, id: &str) -> ApiResult<usize> {
        match self.flavor_index.get(id) {
            Some(&i) if self.flavors[i].status != flavor_status::DELETED => Ok(i),
            _ => Err(codes::flavor_not_found(id)),
        }
    }

    /// Adds an entry and returns its index.
    pub fn push_entry(&mut self, mut e: Entry) -> usize {
        let idx = self.entries.len();
        e.seq = idx;
        self.entry_index.insert(e.id.clone(), idx);
        self.entries.push(e);
        idx
    }

    /// Adds a flavor to its entry and returns its index.
    pub fn push_flavor(&mut self, entry_idx: usize, f: Flavor) -> usize {
        let idx = self.flavors.len();
        self.flavor_index.insert(f.id.clone(), idx);
        self.flavors.push(f);
        self.entries[entry_idx].flavors.push(idx);
        idx
    }

    /// Creates a flavor of `entry_idx` with generated or given content.
    #[allow(clippy::too_many_arguments)]
    pub fn new_flavor(
        &mut self,
        entry_idx: usize,
        params_id: i64,
        size: u64,
        status: i32,
        ext: &str,
        content: Option<Content>,
        created_at: i64,
    ) -> usize {
        let id = self.new_id(false);
        let params = FLAVOR_PARAMS
            .iter()
            .find(|p| p.id == params_id)
            .unwrap_or(&FLAVOR_PARAMS[0]);
        let height = if params.height == 0 {
            720
        } else {
            params.height
        };
        let content = content.unwrap_or(Content::Generated {
            key: content_key(self.settings.seed, &id, 1),
        });
        let entry_id = self.entries[entry_idx].id.clone();
        let duration_s = (self.entries[entry_idx].ms_duration / 1000).max(1) as u64;
        let f = Flavor {
            id,
            entry_id,
            flavor_params_id: params_id,
            version: 1,
            size_bytes: size,
            reports_size_in_bytes: true,
            status,
            is_original: params_id == 0,
            tags: params.tags.to_string(),
            file_ext: ext.to_string(),
            created_at,
            updated_at: created_at,
            deleted_at: None,
            width: height * 16 / 9,
            height,
            bitrate: (size * 8 / 1000 / duration_s) as i64,
            content,
        };
        self.push_flavor(entry_idx, f)
    }

    /// Creates the renditions the default conversion profile makes from a source of `size`
    /// bytes (audio gets only the smallest); returns their indices.
    pub fn add_derived_flavors(
        &mut self,
        idx: usize,
        size: u64,
        status: i32,
        created_at: i64,
    ) -> Vec<usize> {
        let audio = self.entries[idx].media_type == crate::model::media_type::AUDIO;
        FLAVOR_PARAMS
            .iter()
            .filter(|p| p.id != 0 && p.in_default_profile && (!audio || p.id == 2))
            .map(|p| {
                let s = ((size as f64) * p.size_factor) as u64;
                self.new_flavor(idx, p.id, s.max(1), status, "mp4", None, created_at)
            })
            .collect()
    }

    /// Records the current state of an entry for the lagging search index, then marks it updated.
    /// Call before every change of an entry.
    pub fn touch(&mut self, idx: usize) {
        let now_ms = self.now_ms();
        let lag = self.index_lag_ms;
        let now = self.now();
        let e = &mut self.entries[idx];
        if lag > 0 {
            match &mut e.stale {
                Some((due, _)) if *due > now_ms => *due = now_ms + lag,
                _ => {
                    let mut snapshot = e.clone();
                    snapshot.stale = None;
                    e.stale = Some((now_ms + lag, Box::new(snapshot)));
                }
            }
        }
        e.updated_at = now;
    }

    /// The entry as the search index sees it now.
    pub fn index_view(&self, idx: usize, now_ms: u64) -> &Entry {
        let e = &self.entries[idx];
        match &e.stale {
            Some((due, old)) if *due > now_ms => old,
            _ => e,
        }
    }

    /// Comma list of the params ids of READY flavors of an entry.
    pub fn flavor_params_ids(&self, idx: usize) -> String {
        let mut ids: Vec<i64> = self.entries[idx]
            .flavors
            .iter()
            .map(|&f| &self.flavors[f])
            .filter(|f| f.status == flavor_status::READY)
            .map(|f| f.flavor_params_id)
            .collect();
        ids.sort_unstable();
        ids.dedup();
        ids.iter()
            .map(|i| i.to_string())
            .collect::<Vec<_>>()
            .join(",")
    }

    /// Full name of a category.
    pub fn category_name(&self, id: i64) -> Option<String> {
        self.categories
            .iter()
            .find(|c| c.id == id)
            .map(|c| c.full_name.clone())
    }

    /// The wire object of an entry.
    pub fn render_entry(&self, idx: usize) -> Value {
        let name = |id: i64| self.category_name(id);
        let ctx = RenderCtx {
            partner_id: self.settings.partner_id,
            base_url: &self.base_url,
            category_name: &name,
            flavor_params_ids: self.flavor_params_ids(idx),
        };
        self.entries[idx].to_json(&ctx)
    }

    /// The wire object of a flavor.
    pub fn render_flavor(&self, idx: usize) -> Value {
        self.flavors[idx].to_json(self.settings.partner_id)
    }

    /// Recomputes an entry after a flavor became READY or DELETED: with no READY flavor left the
    /// entry becomes NO_CONTENT (kaltura-api.md §5.2).
    pub fn recompute_entry(&mut self, idx: usize) {
        if self.entries[idx].ingest.is_some() {
            return;
        }
        let any_ready = self.entries[idx]
            .flavors
            .iter()
            .any(|&f| self.flavors[f].status == flavor_status::READY);
        if !any_ready && self.entries[idx].status == entry_status::READY {
            self.touch(idx);
            self.entries[idx].status = entry_status::NO_CONTENT;
        }
    }

    /// Marks a flavor deleted and recomputes its entry.
    pub fn delete_flavor(&mut self, fidx: usize) {
        let now = self.now();
        let f = &mut self.flavors[fidx];
        f.status = flavor_status::DELETED;
        f.deleted_at = Some(now);
        f.updated_at = now;
        let entry_id = f.entry_id.clone();
        if let Some(&eidx) = self.entry_index.get(&entry_id) {
            self.touch(eidx);
            self.recompute_entry(eidx);
        }
    }

    /// Starts ingesting the content of an upload token into an entry.
    pub fn start_ingest(&mut self, idx: usize, token_id: &str, fails: bool) {
        self.touch(idx);
        let e = &mut self.entries[idx];
        e.ingest = Some(Ingest {
            token_id: token_id.to_string(),
            started_ms: None,
            original: None,
            fails,
        });
        e.status = entry_status::IMPORT;
        self.ingesting.push(idx);
        self.advance_ingest(idx);
    }

    /// Moves every conversion forward to the current simulated time.
    pub fn advance(&mut self) {
        if self.ingesting.is_empty() {
            return;
        }
        for idx in self.ingesting.clone() {
            self.advance_ingest(idx);
        }
        let entries = &self.entries;
        self.ingesting.retain(|&i| entries[i].ingest.is_some());
    }

    fn advance_ingest(&mut self, idx: usize) {
        let Some(mut ing) = self.entries[idx].ingest.clone() else {
            return;
        };
        let now_ms = self.now_ms();
        let now = self.now();
        if ing.started_ms.is_none() {
            let Some(token) = self.tokens.get_mut(&ing.token_id) else {
                return;
            };
            if token.status != token_status::FULL_UPLOAD {
                return; // stays in IMPORT, waiting for the upload
            }
            token.status = token_status::CLOSED;
            token.updated_at = now;
            token.attached = Some(("1".into(), self.entries[idx].id.clone()));
            let size = token.uploaded.unwrap_or(0);
            let path = token.path.clone();
            let ext = token
                .file_name
                .as_deref()
                .and_then(|n| n.rsplit_once('.').map(|(_, e)| e.to_lowercase()))
                .unwrap_or_else(|| "mp4".into());
            // About 2.5 Mbit/s of video: a duration that fits the size.
            self.entries[idx].ms_duration = ((size * 8) / 2500).max(1000) as i64;
            let f = self.new_flavor(
                idx,
                0,
                size,
                flavor_status::QUEUED,
                &ext,
                Some(Content::Spooled { path }),
                now,
            );
            ing.started_ms = Some(now_ms);
            ing.original = Some(f);
            self.touch(idx);
            self.entries[idx].status = entry_status::PRECONVERT;
        }
        let started = ing.started_ms.expect("set above");
        let delay = self.settings.conversion_delay_ms;
        let original = ing.original.expect("set with started_ms");
        if now_ms >= started + delay / 2 && self.flavors[original].status == flavor_status::QUEUED {
            self.flavors[original].status = flavor_status::READY;
            self.flavors[original].updated_at = now;
            let size = self.flavors[original].size_bytes;
            self.add_derived_flavors(idx, size, flavor_status::CONVERTING, now);
        }
        if now_ms >= started + delay {
            let target = if ing.fails {
                flavor_status::ERROR
            } else {
                flavor_status::READY
            };
            for &f in &self.entries[idx].flavors {
                if self.flavors[f].status == flavor_status::CONVERTING {
                    self.flavors[f].status = target;
                    self.flavors[f].updated_at = now;
                }
            }
            self.touch(idx);
            let e = &mut self.entries[idx];
            e.status = if ing.fails {
                entry_status::ERROR_CONVERTING
            } else {
                entry_status::READY
            };
            e.width = 1280;
            e.height = 720;
            e.ingest = None;
            if let Some(orig_id) = e.replaced_entry_id.clone() {
                self.on_replacement_converted(&orig_id, idx, ing.fails);
            }
            return;
        }
        self.entries[idx].ingest = Some(ing);
    }

    fn on_replacement_converted(&mut self, orig_id: &str, temp_idx: usize, failed: bool) {
        let Some(&orig) = self.entry_index.get(orig_id) else {
            return;
        };
        self.touch(orig);
        if failed {
            self.entries[orig].replacement_status = 4;
            return;
        }
        match self.entries[orig].replacement_status {
            1 => self.replace_now(orig, temp_idx),
            3 => self.entries[orig].replacement_status = 2,
            _ => {}
        }
    }

    /// Completes a replacement: flavors of matching params keep their ids and get the new content
    /// with `version` + 1, flavors of missing params are deleted, new params' flavors move over,
    /// and the temporary entry is deleted (kaltura-api.md §5.3 step 4).
    pub fn replace_now(&mut self, orig: usize, temp: usize) {
        let now = self.now();
        let temp_flavors: Vec<usize> = self.entries[temp]
            .flavors
            .iter()
            .copied()
            .filter(|&f| self.flavors[f].status == flavor_status::READY)
            .collect();
        let mut used = vec![false; temp_flavors.len()];
        for f in self.entries[orig].flavors.clone() {
            if self.flavors[f].status == flavor_status::DELETED {
                continue;
            }
            let params = self.flavors[f].flavor_params_id;
            match temp_flavors
                .iter()
                .position(|&t| self.flavors[t].flavor_params_id == params)
            {
                Some(pos) => {
                    used[pos] = true;
                    let src = self.flavors[temp_flavors[pos]].clone();
                    let dst = &mut self.flavors[f];
                    dst.version += 1;
                    dst.size_bytes = src.size_bytes;
                    dst.reports_size_in_bytes = true;
                    dst.content = src.content;
                    dst.file_ext = src.file_ext;
                    dst.width = src.width;
                    dst.height = src.height;
                    dst.bitrate = src.bitrate;
                    dst.status = flavor_status::READY;
                    dst.updated_at = now;
                    self.flavors[temp_flavors[pos]].status = flavor_status::DELETED;
                    self.flavors[temp_flavors[pos]].deleted_at = Some(now);
                }
                None => {
                    self.flavors[f].status = flavor_status::DELETED;
                    self.flavors[f].deleted_at = Some(now);
                }
            }
        }
        let orig_id = self.entries[orig].id.clone();
        for (pos, &t) in temp_flavors.iter().enumerate() {
            if !used[pos] {
                self.flavors[t].entry_id = orig_id.clone();
                self.entries[orig].flavors.push(t);
                self.entries[temp].flavors.retain(|&x| x != t);
            }
        }
        let (ms, w, h) = (
            self.entries[temp].ms_duration,
            self.entries[temp].width,
            self.entries[temp].height,
        );
        self.touch(orig);
        let o = &mut self.entries[orig];
        o.ms_duration = ms;
        o.width = w;
        o.height = h;
        o.replacing_entry_id = None;
        o.replacement_status = 0;
        o.status = entry_status::READY;
        self.touch(temp);
        self.entries[temp].status = entry_status::DELETED;
    }

    /// Records a play of an entry at `at` (counted now, or at the next analytics refresh).
    pub fn record_play(&mut self, id: &str, at: i64) -> ApiResult<()> {
        self.entry_idx(id)?;
        self.pending_plays.push((id.to_string(), at));
        if !self.settings.analytics_lag {
            self.refresh_analytics();
        }
        Ok(())
    }

    /// Runs the analytics refresh: pending plays reach `plays`, `views` and `lastPlayedAt`.
    pub fn refresh_analytics(&mut self) -> usize {
        let plays = std::mem::take(&mut self.pending_plays);
        let n = plays.len();
        for (id, at) in plays {
            if let Some(&idx) = self.entry_index.get(&id) {
                self.touch(idx);
                let e = &mut self.entries[idx];
                e.plays += 1;
                e.views += 1;
                e.last_played_at = Some(e.last_played_at.map_or(at, |t| t.max(at)));
            }
        }
        n
    }
}
