//! The web client: the files under `web/` (plain ES modules, HTML and CSS,
//! no build step), embedded in the binary at compile time so that one
//! `natter serve` serves the chat app at its root URL.
//!
//! `GET /` answers `web/index.html`; `GET /assets/{path}` answers
//! `web/{path}`. Only the files listed in [`ASSETS`] exist: there is no file
//! system access at run time, so no path can escape the table. A unit test
//! checks that the table and the `web/` folder agree, so a new module cannot
//! be forgotten.

use super::error::ApiError;
use axum::extract::Path;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use natter_proto::ErrorCode;

/// The policy for the HTML page: everything from this origin only (live
/// connections included: `'self'` covers this origin's `ws:` and `wss:`, so
/// injected script cannot reach any other host), no inline script or style,
/// and no framing (clickjacking). `blob:` pictures and media are the
/// client's own: previews of files about to be sent and recorded voice
/// messages, made with `URL.createObjectURL` (no other origin can name one).
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; connect-src 'self'; \
     img-src 'self' data: blob:; media-src 'self' blob:; style-src 'self'; script-src 'self'; \
     object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// One embedded file.
pub struct Asset {
    /// Its path under `web/`, which is also its URL under `/assets/`.
    pub path: &'static str,
    /// The `Content-Type` it is served with.
    pub content_type: &'static str,
    /// The bytes.
    pub body: &'static [u8],
    /// A hash of the bytes, computed at compile time, for `ETag`: browsers
    /// revalidate (`Cache-Control: no-cache`) and get `304` while the binary
    /// is unchanged.
    pub hash: u64,
}

/// FNV-1a: not cryptographic, only a change detector for `ETag`.
const fn fnv1a(bytes: &[u8]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    let mut i = 0;
    while i < bytes.len() {
        hash ^= bytes[i] as u64;
        hash = hash.wrapping_mul(0x0100_0000_01b3);
        i += 1;
    }
    hash
}

const HTML: &str = "text/html; charset=utf-8";
const CSS: &str = "text/css; charset=utf-8";
const JS: &str = "text/javascript; charset=utf-8";
const SVG: &str = "image/svg+xml";

macro_rules! assets {
    ($($path:literal => $mime:expr),* $(,)?) => {
        &[$(Asset {
            path: $path,
            content_type: $mime,
            body: include_bytes!(concat!("../../../../web/", $path)),
            // A constant of its own per file: the compiler bounds how
            // long one constant may take to evaluate, and the whole
            // client in one would pass that bound.
            hash: {
                const HASH: u64 = fnv1a(include_bytes!(concat!("../../../../web/", $path)));
                HASH
            },
        }),*]
    };
}

/// Every file of the web client. Add a new module here (the test
/// `table_matches_the_web_folder` says which one is missing).
pub static ASSETS: &[Asset] = assets![
    "index.html" => HTML,
    "style.css" => CSS,
    "icon.svg" => SVG,
    "app.js" => JS,
    "js/api.js" => JS,
    "js/blurhash.js" => JS,
    "js/dom.js" => JS,
    "js/format.js" => JS,
    "js/icons.js" => JS,
    "js/live.js" => JS,
    "js/notify.js" => JS,
    "js/outbox.js" => JS,
    "js/storage.js" => JS,
    "js/store.js" => JS,
    "js/sync.js" => JS,
    "js/theme.js" => JS,
    "js/uploads.js" => JS,
    "js/views/attach.js" => JS,
    "js/views/chat.js" => JS,
    "js/views/common.js" => JS,
    "js/views/dialogs.js" => JS,
    "js/views/login.js" => JS,
    "js/views/media.js" => JS,
    "js/views/search.js" => JS,
    "js/views/settings.js" => JS,
    "js/views/shell.js" => JS,
    "js/views/sidebar.js" => JS,
];

/// The asset at `path`, if there is one.
pub fn find(path: &str) -> Option<&'static Asset> {
    ASSETS.iter().find(|a| a.path == path)
}

/// `GET /`: the web client's page.
pub async fn index(headers: HeaderMap) -> Response {
    match find("index.html") {
        Some(asset) => serve(asset, &headers),
        None => not_found(),
    }
}

/// `GET /assets/{*path}`: a script, style sheet or image of the web client;
/// an unknown path is `404 not_found` in the API's error format.
pub async fn asset(Path(path): Path<String>, headers: HeaderMap) -> Response {
    match find(&path) {
        // The page itself lives at `/`, where it gets its security headers.
        Some(asset) if asset.content_type != HTML => serve(asset, &headers),
        _ => not_found(),
    }
}

fn not_found() -> Response {
    ApiError::new(ErrorCode::NotFound, "no such asset").into_response()
}

fn serve(asset: &'static Asset, request: &HeaderMap) -> Response {
    let etag = format!("\"{:016x}\"", asset.hash);
    let fresh = request
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag || t.trim() == "*"));
    let mut response = if fresh {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        (
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static(asset.content_type),
            )],
            asset.body,
        )
            .into_response()
    };
    let h = response.headers_mut();
    // Revalidate every time (cheap with the ETag) so a new binary's client
    // is picked up on the next load, never a stale mix of modules.
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    if let Ok(v) = HeaderValue::from_str(&etag) {
        h.insert(header::ETAG, v);
    }
    if asset.content_type == HTML {
        h.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CONTENT_SECURITY_POLICY),
        );
        h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
        h.insert(
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        );
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;
    use std::path::{Path as FsPath, PathBuf};

    fn web_dir() -> PathBuf {
        FsPath::new(env!("CARGO_MANIFEST_DIR")).join("../../web")
    }

    /// Files the client is made of: everything under `web/` but the
    /// browser tests and notes for developers.
    fn files(dir: &FsPath, base: &FsPath, out: &mut BTreeSet<String>) {
        for entry in std::fs::read_dir(dir).expect("read web/") {
            let path = entry.expect("dir entry").path();
            let rel = path
                .strip_prefix(base)
                .expect("under web/")
                .to_string_lossy()
                .replace('\\', "/");
            if path.is_dir() {
                if rel != "tests" {
                    files(&path, base, out);
                }
            } else if !rel.ends_with(".md") {
                out.insert(rel);
            }
        }
    }

    #[test]
    fn table_matches_the_web_folder() {
        let mut on_disk = BTreeSet::new();
        files(&web_dir(), &web_dir(), &mut on_disk);
        let embedded: BTreeSet<String> = ASSETS.iter().map(|a| a.path.to_owned()).collect();
        let missing: Vec<_> = on_disk.difference(&embedded).collect();
        assert!(
            missing.is_empty(),
            "web/ files not embedded; add them to ASSETS in web.rs: {missing:?}"
        );
        assert_eq!(on_disk, embedded);
    }

    #[test]
    fn content_types_follow_extensions() {
        for a in ASSETS {
            let want = match a.path.rsplit('.').next() {
                Some("html") => HTML,
                Some("css") => CSS,
                Some("js") => JS,
                Some("svg") => SVG,
                other => panic!("no content type for {other:?}"),
            };
            assert_eq!(a.content_type, want, "{}", a.path);
        }
    }

    #[test]
    fn etags_revalidate_and_the_page_carries_its_policy() {
        let page = find("index.html").expect("index");
        let r = serve(page, &HeaderMap::new());
        assert_eq!(r.status(), StatusCode::OK);
        assert!(r.headers().contains_key(header::CONTENT_SECURITY_POLICY));
        let etag = r.headers()[header::ETAG].clone();
        let mut again = HeaderMap::new();
        again.insert(header::IF_NONE_MATCH, etag);
        assert_eq!(serve(page, &again).status(), StatusCode::NOT_MODIFIED);
        let css = serve(find("style.css").expect("css"), &HeaderMap::new());
        assert!(!css.headers().contains_key(header::CONTENT_SECURITY_POLICY));
    }

    #[test]
    fn the_page_may_connect_to_its_own_origin_only() {
        let directives: Vec<&str> = CONTENT_SECURITY_POLICY.split(';').map(str::trim).collect();
        assert!(directives.contains(&"connect-src 'self'"), "{directives:?}");
        // No source that admits every host of a scheme (`ws:`, `https:`, …)
        // and no wildcard. `data:` and `blob:` name no host: a blob URL
        // belongs to the origin that made it.
        for d in &directives {
            for source in d.split_whitespace().skip(1) {
                assert!(
                    source == "data:"
                        || source == "blob:"
                        || (!source.ends_with(':') && !source.contains('*')),
                    "{d} admits any host"
                );
            }
        }
    }
}
