//! The stable, machine-readable shape of an event, and the time and size formats humans see.
//!
//! `flowforge events --json` and the recorder's last-resort spill to stderr print the same
//! record, one JSON object per line (NDJSON), with these field names, in this order:
//! `id, run_id, at_ms, at, category, kind, actor, message, payload`. Scripts depend on them,
//! so they change only by adding fields. `id` is the `events` row id, `null` for an event
//! that never reached the database (spilled); `run_id` is `null` when no run row exists
//! (the database could not be opened at all).
//!
//! `at` is RFC 3339 in UTC with milliseconds, computed by hand (days-to-civil, after
//! Howard Hinnant's `chrono`-compatible algorithms) because one function does not justify
//! a date crate. The conversions are pure and tested with literal examples.

use super::event::Event;
use super::RunId;
use serde::Serialize;
use serde_json::Value;
use std::io::{self, Write};

/// One event as printed by `flowforge events --json` and by the spill at finish.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EventRecord {
    pub id: Option<i64>,
    pub run_id: Option<i64>,
    pub at_ms: i64,
    pub at: String,
    pub category: String,
    pub kind: String,
    pub actor: String,
    pub message: String,
    pub payload: Value,
}

impl EventRecord {
    /// An event that was never written: no row id.
    pub fn unwritten(run_id: Option<RunId>, event: &Event) -> EventRecord {
        EventRecord {
            id: None,
            run_id: run_id.map(|r| r.0),
            at_ms: event.at_ms,
            at: rfc3339_ms(event.at_ms),
            category: event.category.as_str().to_string(),
            kind: event.kind.clone(),
            actor: event.actor.as_str().to_string(),
            message: event.message.clone(),
            payload: event.payload.clone(),
        }
    }

    /// Writes the record as one line of NDJSON.
    pub fn write_line(&self, out: &mut dyn Write) -> io::Result<()> {
        serde_json::to_writer(&mut *out, self).map_err(io::Error::from)?;
        out.write_all(b"\n")
    }
}

/// `2024-06-01T10:00:00.000Z` for milliseconds since the Unix epoch.
pub fn rfc3339_ms(ms: i64) -> String {
    let (date, secs_of_day) = split_days(ms.div_euclid(1000));
    format!("{date}T{}.{:03}Z", clock(secs_of_day), ms.rem_euclid(1000))
}

/// `2024-06-01T10:00:00Z`: the same instant to the second, for tables.
pub fn rfc3339_s(ms: i64) -> String {
    let (date, secs_of_day) = split_days(ms.div_euclid(1000));
    format!("{date}T{}Z", clock(secs_of_day))
}

fn split_days(secs: i64) -> (String, i64) {
    let (year, month, day) = civil_from_days(secs.div_euclid(86_400));
    (format!("{year:04}-{month:02}-{day:02}"), secs.rem_euclid(86_400))
}

fn clock(secs_of_day: i64) -> String {
    format!(
        "{:02}:{:02}:{:02}",
        secs_of_day / 3600,
        secs_of_day % 3600 / 60,
        secs_of_day % 60
    )
}

/// Proleptic Gregorian (year, month, day) of a day count since 1970-01-01.
pub(crate) fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097); // day of era, 0..=146096
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365; // 0..=399
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100); // 0..=365, from March 1st
    let mp = (5 * doy + 2) / 153; // 0..=11, March = 0
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month as u32, day as u32)
}

/// `850ms`, `4.2s`, `5m12s`, `2h03m`: as precise as a human needs.
pub fn human_duration(ms: i64) -> String {
    let ms = ms.max(0);
    if ms < 1000 {
        format!("{ms}ms")
    } else if ms < 60_000 {
        format!("{:.1}s", ms as f64 / 1000.0)
    } else if ms < 3_600_000 {
        format!("{}m{:02}s", ms / 60_000, ms % 60_000 / 1000)
    } else {
        format!("{}h{:02}m", ms / 3_600_000, ms % 3_600_000 / 60_000)
    }
}

/// `512 B`, `4.0 KiB`, `1.2 GiB`.
pub fn human_bytes(bytes: f64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = bytes.max(0.0);
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{value:.0} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evidence::event::{Actor, Category};
    use serde_json::json;

    #[test]
    fn rfc3339_literal_examples() {
        assert_eq!(rfc3339_ms(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(rfc3339_ms(1_717_236_000_000), "2024-06-01T10:00:00.000Z");
        assert_eq!(rfc3339_ms(951_782_400_123), "2000-02-29T00:00:00.123Z");
        assert_eq!(rfc3339_ms(4_107_542_399_999), "2100-02-28T23:59:59.999Z");
        assert_eq!(rfc3339_ms(-1), "1969-12-31T23:59:59.999Z");
        assert_eq!(rfc3339_s(1_735_689_599_500), "2024-12-31T23:59:59Z");
    }

    #[test]
    fn durations_and_sizes() {
        assert_eq!(human_duration(850), "850ms");
        assert_eq!(human_duration(4_249), "4.2s");
        assert_eq!(human_duration(312_000), "5m12s");
        assert_eq!(human_duration(7_380_000), "2h03m");
        assert_eq!(human_bytes(512.0), "512 B");
        assert_eq!(human_bytes(4096.0), "4.0 KiB");
        assert_eq!(human_bytes(1.5 * 1024.0 * 1024.0 * 1024.0), "1.5 GiB");
    }

    #[test]
    fn record_has_stable_field_order() {
        let mut event = Event::new(
            Category::Action,
            "tree_stop",
            Actor::Detector,
            "sent SIGTERM",
            json!({"processes": 3}),
        );
        event.at_ms = 1_717_236_000_000;
        let mut out = Vec::new();
        EventRecord::unwritten(Some(RunId(7)), &event)
            .write_line(&mut out)
            .expect("write to a Vec");
        assert_eq!(
            String::from_utf8(out).expect("utf-8"),
            "{\"id\":null,\"run_id\":7,\"at_ms\":1717236000000,\
             \"at\":\"2024-06-01T10:00:00.000Z\",\"category\":\"action\",\
             \"kind\":\"tree_stop\",\"actor\":\"detector\",\"message\":\"sent SIGTERM\",\
             \"payload\":{\"processes\":3}}\n"
        );
    }
}
