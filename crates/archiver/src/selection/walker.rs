//! Walks a selection page by page past the 10,000-result cap with a `createdAt` cursor
//! (kaltura-api.md §4.3), with the flavors of each page fetched in one batched call.

use std::collections::{HashMap, HashSet, VecDeque};

use kaltura::media::MAX_PAGE_SIZE;
use kaltura::{Client, EntryId, FlavorAsset, MediaEntry, MediaEntryFilter};

use super::{Selection, SelectionError};

/// Entries sharing one creation second beyond which the cursor pages through that second instead
/// of growing `idNotIn` (the service silently truncates long lists).
const MAX_IDS_AT_CURSOR: usize = 100;

/// Which flavors come with each page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavors {
    /// None.
    None,
    /// The original (source) flavor of each entry: one call per page.
    Originals,
    /// Every flavor.
    All,
}

/// One page of selected entries.
#[derive(Debug, Clone, Default)]
pub struct Page {
    /// Entries, in `createdAt` order.
    pub entries: Vec<MediaEntry>,
    /// Flavors by entry (as asked for).
    pub flavors: HashMap<EntryId, Vec<FlavorAsset>>,
}

impl Page {
    /// The original flavor of an entry, if it has one.
    pub fn original(&self, id: &EntryId) -> Option<&FlavorAsset> {
        self.flavors
            .get(id)
            .and_then(|f| f.iter().find(|f| f.is_original))
    }
}

enum Mode {
    Ids(VecDeque<Vec<EntryId>>),
    Cursor(Option<(i64, Vec<EntryId>)>),
    Second {
        t: i64,
        page: u32,
        seen: HashSet<EntryId>,
    },
    Done,
}

/// Walks a selection page by page.
pub struct Walker {
    client: Client,
    base: MediaEntryFilter,
    flavors: Flavors,
    max: Option<u64>,
    yielded: u64,
    total: Option<u64>,
    mode: Mode,
    /// The selection, while its categories are still to be checked.
    categories: Option<Selection>,
}

impl Walker {
    /// Starts a walk of `selection` (validated here) as of `now`.
    pub fn new(
        client: Client,
        selection: &Selection,
        flavors: Flavors,
        now: i64,
    ) -> Result<Self, SelectionError> {
        let base = selection.filter(now)?;
        let mode = if selection.entry_ids.is_empty() {
            Mode::Cursor(None)
        } else {
            let mut unique = Vec::new();
            let mut seen = HashSet::new();
            for id in &selection.entry_ids {
                if seen.insert(id.clone()) {
                    unique.push(id.clone());
                }
            }
            Mode::Ids(
                unique
                    .chunks(MAX_PAGE_SIZE as usize)
                    .map(<[EntryId]>::to_vec)
                    .collect(),
            )
        };
        Ok(Walker {
            client,
            base,
            flavors,
            max: selection.max_entries,
            yielded: 0,
            total: None,
            mode,
            categories: Some(selection.clone()).filter(|s| !s.categories.is_empty()),
        })
    }

    /// How many entries match, as the first page reported it (capped by `max_entries`).
    pub fn total(&self) -> Option<u64> {
        self.total.map(|t| self.max.map_or(t, |m| t.min(m)))
    }

    /// The next page, or `None` when the walk is over.
    pub async fn next_page(&mut self) -> Result<Option<Page>, SelectionError> {
        // The categories named are checked once, before the first page.
        if let Some(selection) = self.categories.take() {
            super::check_categories(&self.client, &selection).await?;
        }
        loop {
            let entries = match &mut self.mode {
                Mode::Done => return Ok(None),
                Mode::Ids(batches) => {
                    let Some(batch) = batches.pop_front() else {
                        self.mode = Mode::Done;
                        continue;
                    };
                    self.id_batch(batch).await?
                }
                Mode::Cursor(after) => {
                    let mut f = self.base.clone();
                    if let Some((t, ids)) = after {
                        f.created_at_greater_than_or_equal =
                            Some(f.created_at_greater_than_or_equal.map_or(*t, |g| g.max(*t)));
                        f.id_not_in = Some(
                            ids.iter()
                                .map(|i| i.0.as_str())
                                .collect::<Vec<_>>()
                                .join(","),
                        );
                    }
                    let r = list(&self.client, self.flavors, &f, 1).await?;
                    if self.total.is_none() {
                        self.total = Some(r.total_count.max(0) as u64);
                    }
                    let entries = r.objects;
                    self.mode = if entries.len() < MAX_PAGE_SIZE as usize {
                        Mode::Done
                    } else {
                        next_cursor(after.take(), &entries)
                    };
                    entries
                }
                Mode::Second { t, page, seen } => {
                    let mut f = self.base.clone();
                    f.created_at_greater_than_or_equal = Some(*t);
                    f.created_at_less_than_or_equal = Some(*t);
                    let r = list(&self.client, self.flavors, &f, *page).await?;
                    let full = r.objects.len() == MAX_PAGE_SIZE as usize;
                    let fresh: Vec<MediaEntry> = r
                        .objects
                        .into_iter()
                        .filter(|e| seen.insert(e.id.clone()))
                        .collect();
                    if full {
                        *page += 1;
                    } else {
                        self.mode = Mode::Cursor(Some((*t + 1, vec![])));
                    }
                    fresh
                }
            };
            if entries.is_empty() {
                continue;
            }
            return self.emit(entries).await.map(Some);
        }
    }

    async fn id_batch(&mut self, batch: Vec<EntryId>) -> Result<Vec<MediaEntry>, SelectionError> {
        let mut f = self.base.clone();
        f.id_in = Some(
            batch
                .iter()
                .map(|i| i.0.as_str())
                .collect::<Vec<_>>()
                .join(","),
        );
        let r = list(&self.client, self.flavors, &f, 1).await?;
        let found: HashSet<&EntryId> = r.objects.iter().map(|e| &e.id).collect();
        for id in batch.iter().filter(|id| !found.contains(id)) {
            match self.client.get_media(id).await {
                Err(e) if e.code() == Some("ENTRY_ID_NOT_FOUND") => {
                    return Err(SelectionError::UnknownEntry(id.clone()))
                }
                Err(e) => return Err(e.into()),
                Ok(_) => {
                    tracing::info!(entry = %id, "entry exists but does not match the other filters; skipped")
                }
            }
        }
        self.total = Some(self.total.unwrap_or(0) + r.objects.len() as u64);
        Ok(r.objects)
    }

    async fn emit(&mut self, mut entries: Vec<MediaEntry>) -> Result<Page, SelectionError> {
        if let Some(max) = self.max {
            let room = max.saturating_sub(self.yielded) as usize;
            if entries.len() >= room {
                entries.truncate(room);
                self.mode = Mode::Done;
            }
        }
        self.yielded += entries.len() as u64;
        let mut flavors: HashMap<EntryId, Vec<FlavorAsset>> = HashMap::new();
        if self.flavors == Flavors::None {
            return Ok(Page { entries, flavors });
        }
        // The nested lists; an entry whose list the pager cut (or that came without one) is
        // asked for separately.
        let mut missing = Vec::new();
        for e in &mut entries {
            match std::mem::take(&mut e.related_objects).remove(kaltura::media::FLAVORS) {
                Some(list) if list.total_count as usize <= list.objects.len() => {
                    flavors.insert(e.id.clone(), list.objects);
                }
                _ => missing.push(e.id.clone()),
            }
        }
        if !missing.is_empty() {
            flavors.retain(|id, _| !missing.contains(id));
            for f in self
                .client
                .flavors_of(&missing, self.flavors == Flavors::Originals)
                .await?
            {
                flavors.entry(f.entry_id.clone()).or_default().push(f);
            }
        }
        Ok(Page { entries, flavors })
    }
}

/// The cursor after a full page: the last creation second and the ids seen in it; when too many
/// entries share that second, page through the second itself.
fn next_cursor(prev: Option<(i64, Vec<EntryId>)>, page: &[MediaEntry]) -> Mode {
    let Some(last) = page.last().map(|e| e.created_at) else {
        return Mode::Done;
    };
    let mut at_last = match prev {
        Some((t, ids)) if t == last => ids,
        _ => vec![],
    };
    at_last.extend(
        page.iter()
            .filter(|e| e.created_at == last)
            .map(|e| e.id.clone()),
    );
    if at_last.len() > MAX_IDS_AT_CURSOR {
        Mode::Second {
            t: last,
            page: 1,
            seen: at_last.into_iter().collect(),
        }
    } else {
        Mode::Cursor(Some((last, at_last)))
    }
}

/// One page of the filter; with flavors asked for, each entry's come nested in the same call
/// (a response profile), so a page costs one call.
async fn list(
    client: &Client,
    flavors: Flavors,
    f: &MediaEntryFilter,
    page: u32,
) -> Result<kaltura::ListResponse<MediaEntry>, SelectionError> {
    Ok(match flavors {
        Flavors::None => client.list_media(f, MAX_PAGE_SIZE, page).await?,
        kind => {
            let originals = kind == Flavors::Originals;
            client
                .list_media_with_flavors(f, MAX_PAGE_SIZE, page, originals)
                .await?
        }
    })
}
