//! The media type (`Content-Type`) an object is written with, so that a copy downloaded from the
//! bucket opens as a video and the report page opens as a page rather than as a download.

use super::ArchiveMeta;

/// Unknown or binary content.
pub const OCTET_STREAM: &str = "application/octet-stream";

/// The media type of an object: from the original's file extension when the metadata names a
/// known one (a copy's key has none), else from the key's own extension (sidecar files, the
/// report), else [`OCTET_STREAM`].
pub fn of(key: &str, meta: &ArchiveMeta) -> &'static str {
    by_extension(&meta.file_ext)
        .or_else(|| {
            let name = key.rsplit('/').next().unwrap_or_default();
            name.rsplit_once('.').and_then(|(_, ext)| by_extension(ext))
        })
        .unwrap_or(OCTET_STREAM)
}

/// The media type of a file extension (without the dot, any case), when it is a known one.
pub fn by_extension(ext: &str) -> Option<&'static str> {
    Some(match ext.to_ascii_lowercase().as_str() {
        "mp4" | "m4v" => "video/mp4",
        "mov" | "qt" => "video/quicktime",
        "webm" => "video/webm",
        "mkv" => "video/x-matroska",
        "avi" => "video/x-msvideo",
        "wmv" => "video/x-ms-wmv",
        "flv" => "video/x-flv",
        "mpg" | "mpeg" => "video/mpeg",
        "3gp" => "video/3gpp",
        "m4a" => "audio/mp4",
        "mp3" => "audio/mpeg",
        "wav" => "audio/wav",
        "ogg" => "audio/ogg",
        "html" | "htm" => "text/html; charset=utf-8",
        "txt" => "text/plain; charset=utf-8",
        "vtt" => "text/vtt",
        "srt" => "application/x-subrip",
        "dfxp" | "xml" => "application/xml",
        "json" => "application/json",
        "jpg" | "jpeg" => "image/jpeg",
        "png" => "image/png",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "pdf" => "application/pdf",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta(ext: &str) -> ArchiveMeta {
        ArchiveMeta {
            entry_id: "0_a".into(),
            flavor_id: "0_f".into(),
            flavor_version: 1,
            file_ext: ext.into(),
            archived_at: 0,
            tool_version: "t".into(),
        }
    }

    #[test]
    fn a_copy_takes_its_type_from_the_originals_extension_not_from_its_key() {
        assert_eq!(of("0_a.0_f.v1", &meta("MP4")), "video/mp4");
        assert_eq!(of("0_a.0_f.v1.2", &meta("mov")), "video/quicktime");
    }

    #[test]
    fn sidecar_files_and_the_report_take_their_type_from_their_key() {
        let sidecar = meta("sidecar");
        assert_eq!(
            of("sidecars/0_a/captions/1_c.en.srt", &sidecar),
            "application/x-subrip"
        );
        assert_eq!(
            of("sidecars/0_a/metadata.json", &sidecar),
            "application/json"
        );
        assert_eq!(
            of("reports/latest.html", &meta("html")),
            "text/html; charset=utf-8"
        );
    }

    #[test]
    fn unknown_content_is_an_octet_stream() {
        assert_eq!(of("0_a.0_f.v1", &meta("")), OCTET_STREAM);
        assert_eq!(of("sidecars/0_a/x.bin", &meta("sidecar")), OCTET_STREAM);
        assert_eq!(of("0_a", &meta("sidecar")), OCTET_STREAM);
    }
}
