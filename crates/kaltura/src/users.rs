//! The partner's users: who owns an entry and how to reach them (`user.list` by id).

use serde::Deserialize;
use serde_json::{json, Map};

use crate::client::{Client, Idempotence};
use crate::error::Result;
use crate::media::{decode, MAX_PAGE_SIZE};
use crate::models::{lenient, ListResponse};

/// A user (the fields the archiver reads).
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct User {
    /// User id (an entry's `userId`).
    #[serde(deserialize_with = "lenient::string")]
    pub id: String,
    /// E-mail address; empty when the user has none.
    #[serde(default, deserialize_with = "lenient::string")]
    pub email: String,
}

impl User {
    /// The address, when the user has one.
    pub fn address(&self) -> Option<&str> {
        Some(self.email.trim()).filter(|e| e.contains('@'))
    }
}

impl Client {
    /// The users with these ids, in one `user.list` per 500; ids the partner does not have are
    /// left out.
    pub async fn users_by_id(&self, ids: &[String]) -> Result<Vec<User>> {
        let mut out = Vec::new();
        for chunk in ids.chunks(MAX_PAGE_SIZE as usize) {
            let mut p = Map::new();
            p.insert(
                "filter".into(),
                json!({"objectType": "KalturaUserFilter", "idIn": chunk.join(",")}),
            );
            p.insert(
                "pager".into(),
                json!({"objectType": "KalturaFilterPager", "pageSize": MAX_PAGE_SIZE}),
            );
            let r: ListResponse<User> = decode(
                "user.list",
                self.call("user", "list", p, Idempotence::Safe).await?,
            )?;
            out.extend(r.objects);
        }
        Ok(out)
    }

    /// The categories among `wanted` (full names, or ids with `by_id`) that the partner has, in
    /// one `category.list` per 500.
    pub async fn categories_found(&self, wanted: &[String], by_id: bool) -> Result<Vec<String>> {
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Category {
            #[serde(deserialize_with = "lenient::string")]
            id: String,
            #[serde(default, deserialize_with = "lenient::string")]
            full_name: String,
        }
        let mut found = Vec::new();
        for chunk in wanted.chunks(MAX_PAGE_SIZE as usize) {
            let field = if by_id { "idIn" } else { "fullNameIn" };
            let filter = json!({"objectType": "KalturaCategoryFilter", field: chunk.join(",")});
            let cats: Vec<Category> = self.list_all("category", filter).await?;
            found.extend(
                cats.into_iter()
                    .map(|c| if by_id { c.id } else { c.full_name }),
            );
        }
        Ok(found)
    }

    /// The server's clock (`system.getTime`, Unix seconds): the clock that stamps `createdAt`
    /// and `lastPlayedAt`, so policy dates are judged against it.
    pub async fn server_time(&self) -> Result<i64> {
        let v = self
            .call("system", "getTime", Map::new(), Idempotence::Safe)
            .await?;
        #[derive(Deserialize)]
        struct Time(#[serde(deserialize_with = "lenient::i64")] i64);
        let t: Time = decode("system.getTime", v)?;
        Ok(t.0)
    }
}
