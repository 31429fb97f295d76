//! Errors as RFC 7807 `application/problem+json`, and the query-string reader that
//! produces most of them.
//!
//! Every refusal names the thing at fault in `field` (a query parameter, a header, a body
//! field, `id`), so a script author fixes the request without reading our source. The
//! query reader is strict on purpose: an unknown or repeated parameter is an error, not
//! silently ignored, because a misspelt `?stat=running` that returned every run would be a
//! quiet wrong answer.

use super::http::Response;
use serde_json::json;

pub const PROBLEM_JSON: &str = "application/problem+json";

/// A problem+json response: `title` is the status's phrase, `detail` the sentence for a
/// human, `field` what to fix (omitted when empty).
pub fn problem(status: u16, field: &str, detail: &str) -> Response {
    let mut body = json!({
        "type": "about:blank",
        "title": title(status),
        "status": status,
        "detail": detail,
    });
    if !field.is_empty() {
        body["field"] = json!(field);
    }
    let bytes = serde_json::to_vec(&body).unwrap_or_default();
    Response::new(status, PROBLEM_JSON, bytes)
}

/// The problem's title: the status's reason phrase (one table, in `wire.rs`).
fn title(status: u16) -> &'static str {
    super::wire::reason_phrase(status)
}

/// A refusal on its way to becoming a response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub status: u16,
    pub field: String,
    pub detail: String,
}

impl Problem {
    pub fn new(status: u16, field: impl Into<String>, detail: impl Into<String>) -> Problem {
        Problem {
            status,
            field: field.into(),
            detail: detail.into(),
        }
    }

    pub fn bad(field: impl Into<String>, detail: impl Into<String>) -> Problem {
        Problem::new(400, field, detail)
    }

    pub fn into_response(self) -> Response {
        problem(self.status, &self.field, &self.detail)
    }
}

/// The parameters of one query string, checked against the names an endpoint accepts.
#[derive(Debug)]
pub struct Query {
    pairs: Vec<(String, String)>,
}

impl Query {
    pub fn parse(raw: &str, allowed: &[&str]) -> Result<Query, Problem> {
        let mut pairs: Vec<(String, String)> = Vec::new();
        for part in raw.split('&').filter(|p| !p.is_empty()) {
            let (name, value) = part.split_once('=').unwrap_or((part, ""));
            let name = decode(name).ok_or_else(|| {
                Problem::bad("query", "a parameter name is not valid percent-encoded UTF-8")
            })?;
            let value = decode(value)
                .ok_or_else(|| Problem::bad(name.clone(), "the value is not valid percent-encoded UTF-8"))?;
            if !allowed.contains(&name.as_str()) {
                let known = if allowed.is_empty() {
                    "this endpoint takes no parameters".to_string()
                } else {
                    format!("known parameters: {}", allowed.join(", "))
                };
                return Err(Problem::bad(
                    name.clone(),
                    format!("unknown parameter '{name}'; {known}"),
                ));
            }
            if pairs.iter().any(|(n, _)| *n == name) {
                return Err(Problem::bad(
                    name.clone(),
                    format!("'{name}' is given more than once"),
                ));
            }
            pairs.push((name, value));
        }
        Ok(Query { pairs })
    }

    pub fn text(&self, name: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// An integer parameter within `min..=max`, or `default` when absent.
    pub fn int(&self, name: &str, min: i64, max: i64, default: i64) -> Result<i64, Problem> {
        let Some(text) = self.text(name) else {
            return Ok(default);
        };
        let value: i64 = text
            .parse()
            .map_err(|_| Problem::bad(name, format!("'{name}' must be an integer from {min} to {max}")))?;
        if !(min..=max).contains(&value) {
            return Err(Problem::bad(
                name,
                format!("'{name}' must be from {min} to {max}, not {value}"),
            ));
        }
        Ok(value)
    }
}

/// Percent-decoding (and `+` as space) of one query component.
fn decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' => {
                let hex = bytes.get(i + 1..i + 3)?;
                let hex = std::str::from_utf8(hex).ok()?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_is_strict() {
        let q = Query::parse("limit=5&state=running", &["limit", "state"]).expect("valid");
        assert_eq!(q.int("limit", 1, 10, 3), Ok(5));
        assert_eq!(q.text("state"), Some("running"));
        assert_eq!(q.int("after", 0, 10, 7).ok(), None.or(Some(7)));
        let err = Query::parse("stat=running", &["limit", "state"]).expect_err("unknown");
        assert_eq!(err.field, "stat");
        assert_eq!(
            Query::parse("limit=1&limit=2", &["limit"])
                .expect_err("twice")
                .field,
            "limit"
        );
        let q = Query::parse("limit=abc", &["limit"]).expect("parsed");
        assert_eq!(q.int("limit", 1, 10, 3).expect_err("not a number").field, "limit");
        let q = Query::parse("limit=99999999999999999999", &["limit"]).expect("parsed");
        assert!(q.int("limit", 1, 10, 3).is_err());
        let q = Query::parse("limit=0", &["limit"]).expect("parsed");
        assert!(q.int("limit", 1, 10, 3).is_err());
        assert!(Query::parse("x=%zz", &["x"]).is_err());
        let q = Query::parse("outcome=a%20b+c", &["outcome"]).expect("parsed");
        assert_eq!(q.text("outcome"), Some("a b c"));
    }

    #[test]
    fn problem_names_the_field() {
        let response = problem(400, "limit", "too big");
        assert_eq!(response.status, 400);
        let body: serde_json::Value = serde_json::from_slice(&response.body).expect("json");
        assert_eq!(body["field"], "limit");
        assert_eq!(body["status"], 400);
        assert_eq!(body["title"], "Bad Request");
    }
}
