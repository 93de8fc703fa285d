//! The library generator: a realistic partner from a seed — creation dates over many years, a share
//! never played, plays spread over years, sizes from a few MB to several GB, some entries without an
//! original flavor, some not READY, old assets without `sizeInBytes`, categories and tags, and a
//! bulk import whose entries share one creation second (to exercise paging cursors).

use crate::content::mix64;
use crate::model::{entry_status, flavor_status, media_type as media, Category, Entry};
use crate::world::World;

const YEAR: i64 = 365 * 86400;

/// A small deterministic random number generator.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator seeded with `seed`.
    pub fn new(seed: u64) -> Self {
        Rng(mix64(seed ^ 0x5EED))
    }
    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        mix64(self.0)
    }
    /// A float in [0, 1).
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
    /// An integer in [lo, hi).
    pub fn range(&mut self, lo: i64, hi: i64) -> i64 {
        lo + (self.next_u64() % (hi - lo).max(1) as u64) as i64
    }
    /// True with probability `p`.
    pub fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }
    /// One element of a slice.
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.range(0, items.len() as i64) as usize]
    }
}

const CATEGORIES: &[(i64, &str, Option<i64>)] = &[
    (101, "Courses", None),
    (102, "Courses>PHY101", Some(101)),
    (103, "Courses>MATH201", Some(101)),
    (104, "Courses>CS101", Some(101)),
    (105, "Events", None),
    (106, "Events>Graduation", Some(105)),
    (107, "Departments", None),
    (108, "Departments>Physics", Some(107)),
    (109, "Departments>Physics>Lectures", Some(108)),
    (110, "Departments>History", Some(107)),
];

const LEAF_CATEGORIES: &[i64] = &[102, 103, 104, 106, 109, 110];
const TAGS: &[&str] = &[
    "lecture",
    "seminar",
    "physics",
    "math",
    "webinar",
    "history",
    "intro",
    "exam-review",
    "guest-talk",
];
const TOPICS: &[&str] = &[
    "Mechanics",
    "Linear Algebra",
    "Algorithms",
    "Thermodynamics",
    "Medieval Europe",
    "Graduation",
    "Optics",
    "Calculus",
];

/// Creates the category tree (once).
pub fn ensure_categories(world: &mut World) {
    if world.categories.is_empty() {
        world.categories = CATEGORIES
            .iter()
            .map(|(id, name, parent)| Category {
                id: *id,
                full_name: name.to_string(),
                parent: *parent,
            })
            .collect();
    }
}

/// Adds `count` generated entries; `rng_salt` keeps later batches different from the first.
/// With `created_at` set, every entry is created at that second.
pub fn add_entries(
    world: &mut World,
    count: usize,
    rng_salt: u64,
    created_at: Option<i64>,
) -> Vec<String> {
    ensure_categories(world);
    let mut rng = Rng::new(world.settings.seed ^ mix64(rng_salt));
    let now = world.now();
    // A bulk import: 200 entries created in the same second, when the library is big enough.
    let burst = if created_at.is_none() && count >= 1000 {
        Some((count / 3, now - 5 * YEAR - 12345))
    } else {
        None
    };
    let mut ids = Vec::with_capacity(count);
    for i in 0..count {
        let created = match (created_at, burst) {
            (Some(t), _) => t,
            (None, Some((start, t))) if i >= start && i < start + 200 => t,
            _ => now - rng.range(3600, i64::from(world.settings.history_years.max(1)) * YEAR),
        };
        ids.push(generate_entry(world, &mut rng, created, now));
    }
    ids
}

fn generate_entry(world: &mut World, rng: &mut Rng, created: i64, now: i64) -> String {
    let id = world.new_id(false);
    let media_type = match rng.unit() {
        x if x < 0.88 => media::VIDEO,
        x if x < 0.96 => media::AUDIO,
        _ => media::IMAGE,
    };
    let never_played = rng.chance(0.3);
    let last_played = if never_played || created >= now {
        None
    } else {
        Some(rng.range(created, now))
    };
    let plays = if last_played.is_some() {
        rng.range(1, 1000)
    } else {
        0
    };
    let mut tags: Vec<&str> = (0..rng.range(0, 4)).map(|_| *rng.pick(TAGS)).collect();
    tags.dedup();
    let mut cats: Vec<i64> = (0..rng.range(0, 3))
        .map(|_| *rng.pick(LEAF_CATEGORIES))
        .collect();
    cats.sort_unstable();
    cats.dedup();
    let moderation = match rng.unit() {
        x if x < 0.97 => 6,
        x if x < 0.99 => 2,
        x if x < 0.995 => 1,
        _ => 3,
    };
    // Sizes log-uniform between the configured bounds (3 MB and 6 GB by default).
    let (lo, hi) = world.settings.flavor_bytes;
    let (lo, hi) = ((lo.max(1) as f64).ln(), (hi.max(lo.max(1)) as f64).ln());
    let size = (lo + rng.unit() * (hi - lo)).exp() as u64;
    let ms_duration = ((size * 8) / 2500).max(1000) as i64;
    let topic = *rng.pick(TOPICS);
    let name = format!("{topic} — session {}", rng.range(1, 40));
    let description = rng.chance(0.5).then(|| format!("Recording of {topic}."));
    let user = format!("lecturer{}", rng.range(1, 60));
    let plays_extra = rng.range(0, 50);
    let entry = Entry {
        name,
        description,
        tags: tags.join(", "),
        category_ids: cats,
        status: entry_status::READY,
        moderation_status: moderation,
        plays,
        views: plays + plays_extra,
        last_played_at: last_played,
        ms_duration: if media_type == media::IMAGE {
            0
        } else {
            ms_duration
        },
        width: if media_type == media::VIDEO { 1280 } else { 0 },
        height: if media_type == media::VIDEO { 720 } else { 0 },
        ..Entry::new(id.clone(), user, media_type, created)
    };
    let idx = world.push_entry(entry);
    if media_type == media::IMAGE {
        return id; // images carry no flavors
    }
    // Not READY: 3 % of entries.
    if rng.chance(0.03) {
        let status = *rng.pick(&[
            entry_status::NO_CONTENT,
            entry_status::PRECONVERT,
            entry_status::ERROR_CONVERTING,
            entry_status::IMPORT,
        ]);
        world.entries[idx].status = status;
        match status {
            entry_status::PRECONVERT => {
                world.new_flavor(idx, 0, size, flavor_status::QUEUED, "mp4", None, created);
            }
            entry_status::ERROR_CONVERTING => {
                world.new_flavor(idx, 0, size, flavor_status::READY, "mp4", None, created);
                world.new_flavor(
                    idx,
                    2,
                    size / 12,
                    flavor_status::ERROR,
                    "mp4",
                    None,
                    created,
                );
            }
            _ => {}
        }
        return id;
    }
    let without_original = rng.chance(0.02);
    let old_asset = rng.chance(0.03);
    let ext = if rng.chance(0.9) { "mp4" } else { "mov" };
    if !without_original {
        let f = world.new_flavor(idx, 0, size, flavor_status::READY, ext, None, created);
        world.flavors[f].reports_size_in_bytes = !old_asset;
    }
    for f in world.add_derived_flavors(idx, size, flavor_status::READY, created) {
        world.flavors[f].reports_size_in_bytes = !old_asset;
    }
    id
}
