//! The dashboard's files (`web/`), embedded in the binary and served at `/` by the API
//! server, same origin as `/api/v1` (so the page needs no CORS, and gets none).
//!
//! The files carry no data and no key — the page takes the key from the URL fragment,
//! which browsers never send — so they are served without `Authorization`, after the same
//! Host and Origin checks as every request. Each response carries a strict
//! Content-Security-Policy: scripts, styles and connections from this origin only, no
//! inline script, no framing, no plugins, no form posts; the page builds its DOM with
//! `textContent` and element creation only, so a child's `<img onerror=…>` stays text.

use super::http::Response;

/// The policy every page response carries.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; style-src 'self'; \
img-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'none'; \
frame-ancestors 'none'";

/// (path, content type, bytes) for every file of `web/`.
const FILES: &[(&str, &str, &str)] = &[
    (
        "/",
        "text/html; charset=utf-8",
        include_str!("../../web/index.html"),
    ),
    (
        "/index.html",
        "text/html; charset=utf-8",
        include_str!("../../web/index.html"),
    ),
    (
        "/styles.css",
        "text/css; charset=utf-8",
        include_str!("../../web/styles.css"),
    ),
    (
        "/app.js",
        "text/javascript; charset=utf-8",
        include_str!("../../web/app.js"),
    ),
    (
        "/api.js",
        "text/javascript; charset=utf-8",
        include_str!("../../web/api.js"),
    ),
    (
        "/format.js",
        "text/javascript; charset=utf-8",
        include_str!("../../web/format.js"),
    ),
    (
        "/runs.js",
        "text/javascript; charset=utf-8",
        include_str!("../../web/runs.js"),
    ),
    (
        "/run.js",
        "text/javascript; charset=utf-8",
        include_str!("../../web/run.js"),
    ),
    (
        "/sparkline.js",
        "text/javascript; charset=utf-8",
        include_str!("../../web/sparkline.js"),
    ),
];

/// Whether `path` names one of the dashboard's files.
pub fn is_asset(path: &str) -> bool {
    FILES.iter().any(|(p, _, _)| *p == path)
}

/// The file at `path` with its security headers, or `None` when there is none.
pub fn asset(path: &str) -> Option<Response> {
    let (_, content_type, body) = FILES.iter().find(|(p, _, _)| *p == path)?;
    Some(
        Response::new(200, content_type, body.as_bytes().to_vec())
            .with_header("Content-Security-Policy", CONTENT_SECURITY_POLICY)
            .with_header("Referrer-Policy", "no-referrer")
            .with_header("X-Frame-Options", "DENY"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_file_of_web_is_served_and_nothing_else() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("web");
        let mut on_disk: Vec<String> = std::fs::read_dir(dir)
            .expect("web/ exists")
            .map(|e| format!("/{}", e.expect("entry").file_name().to_string_lossy()))
            .collect();
        on_disk.sort();
        let mut served: Vec<String> = FILES
            .iter()
            .map(|(p, _, _)| p.to_string())
            .filter(|p| p != "/")
            .collect();
        served.sort();
        assert_eq!(on_disk, served, "web/ and the embedded files must match");
    }

    #[test]
    fn pages_carry_the_policy_and_scripts_are_modules_from_self() {
        let page = asset("/").expect("the index");
        assert!(page
            .headers
            .iter()
            .any(|(n, v)| *n == "Content-Security-Policy" && v.contains("script-src 'self'")));
        let html = String::from_utf8(page.body).expect("utf-8");
        assert!(!html.contains("<script>"), "no inline script: {html}");
        assert!(!html.contains("style="), "no inline style");
        assert!(asset("/nope.js").is_none());
        for (path, _, text) in FILES {
            for parser in [".innerHTML", ".outerHTML", "insertAdjacentHTML", "document.write"] {
                assert!(!text.contains(parser), "{path} parses HTML with {parser}");
            }
        }
    }
}
