//! The `filter` of `forms.responses.list` and the `pageToken`s of its pages.
//!
//! Google accepts exactly two filters, `timestamp > T` and `timestamp >= T`, with `T` an RFC 3339
//! UTC timestamp in "Zulu" form (`2014-10-02T15:01:23Z`, `2014-10-02T15:01:23.045123456Z`);
//! anything else is a 400 `INVALID_ARGUMENT`. The timestamp compared is a response's
//! `lastSubmittedTime`, so an edited response comes back with its new time.
//!
//! A page token names the form, the filter it was issued under and the sort key of the last
//! response it returned (`lastSubmittedTime`, then the order of submission): the next page starts
//! after that key, so a response edited between two pages moves to the end instead of shifting
//! the others (nothing is skipped). A token used with another filter or form is refused (400).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use thiserror::Error;

/// A parsed `filter`: responses last submitted after (or at) an instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Filter {
    /// `>=` rather than `>`.
    pub inclusive: bool,
    /// The instant, in nanoseconds since the Unix epoch.
    pub nanos: i128,
}

impl Filter {
    /// Whether a response last submitted at `ms` (epoch milliseconds) passes.
    pub fn matches(&self, ms: i64) -> bool {
        let t = i128::from(ms) * 1_000_000;
        if self.inclusive {
            t >= self.nanos
        } else {
            t > self.nanos
        }
    }

    fn canonical(&self) -> String {
        format!("{}{}", if self.inclusive { "ge" } else { "gt" }, self.nanos)
    }
}

/// Why a `filter` or a `pageToken` was refused (answered as 400 `INVALID_ARGUMENT`).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum FilterError {
    /// Not `timestamp > T` nor `timestamp >= T`.
    #[error(
        "Invalid filter: {0:?}. Only 'timestamp > T' and 'timestamp >= T' are supported, T in \
         RFC 3339 UTC \"Zulu\" format"
    )]
    Unsupported(String),
    /// `T` is not an RFC 3339 UTC timestamp.
    #[error(
        "Invalid filter timestamp: {0:?}. Use RFC 3339 UTC \"Zulu\" format, e.g. \
         2014-10-02T15:01:23Z"
    )]
    BadTimestamp(String),
    /// The page token is not one this emulator issued, or not for this form and filter.
    #[error("Invalid page token: {0}")]
    BadPageToken(&'static str),
}

/// Parses a `filter` parameter; an empty one (or only spaces) is no filter.
pub fn parse(text: &str) -> Result<Option<Filter>, FilterError> {
    let t = text.trim();
    if t.is_empty() {
        return Ok(None);
    }
    let unsupported = || FilterError::Unsupported(text.to_owned());
    let rest = t.strip_prefix("timestamp").ok_or_else(unsupported)?;
    let rest = rest.trim_start();
    let (inclusive, rest) = match rest.strip_prefix(">=") {
        Some(r) => (true, r),
        None => (false, rest.strip_prefix('>').ok_or_else(unsupported)?),
    };
    let stamp = rest.trim_start();
    if stamp.is_empty() || stamp.contains(char::is_whitespace) {
        return Err(unsupported());
    }
    Ok(Some(Filter {
        inclusive,
        nanos: parse_zulu(stamp)?,
    }))
}

/// An RFC 3339 UTC timestamp in "Zulu" form (`YYYY-MM-DDTHH:MM:SS[.f{1,9}]Z`), in epoch ns.
pub fn parse_zulu(stamp: &str) -> Result<i128, FilterError> {
    let bad = || FilterError::BadTimestamp(stamp.to_owned());
    let b = stamp.as_bytes();
    let shape_ok = b.len() >= 20
        && b.iter().take(19).enumerate().all(|(i, c)| match i {
            4 | 7 => *c == b'-',
            10 => *c == b'T',
            13 | 16 => *c == b':',
            _ => c.is_ascii_digit(),
        });
    if !shape_ok || b.last() != Some(&b'Z') {
        return Err(bad());
    }
    let frac = &b[19..b.len() - 1];
    if !frac.is_empty() {
        let digits = frac.get(1..).unwrap_or_default();
        if frac[0] != b'.' || digits.is_empty() || digits.len() > 9 {
            return Err(bad());
        }
        if !digits.iter().all(u8::is_ascii_digit) {
            return Err(bad());
        }
    }
    let ts: jiff::Timestamp = stamp.parse().map_err(|_| bad())?;
    Ok(ts.as_nanosecond())
}

/// Where a page starts: after the response with this sort key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageToken {
    /// `lastSubmittedTime` (epoch ms) of the last response returned.
    pub last_ms: i64,
    /// Its submission sequence number (the tie-breaker).
    pub last_seq: u64,
}

fn filter_key(filter: Option<&Filter>) -> String {
    filter.map_or_else(|| "none".to_owned(), Filter::canonical)
}

impl PageToken {
    /// The token for a page after `self`, bound to `form_id` and `filter`.
    pub fn encode(&self, form_id: &str, filter: Option<&Filter>) -> String {
        URL_SAFE_NO_PAD.encode(format!(
            "v1|{form_id}|{}|{}|{}",
            filter_key(filter),
            self.last_ms,
            self.last_seq
        ))
    }

    /// Reads a token back, checking it was issued for `form_id` under `filter`.
    pub fn decode(
        token: &str,
        form_id: &str,
        filter: Option<&Filter>,
    ) -> Result<PageToken, FilterError> {
        let bytes = URL_SAFE_NO_PAD
            .decode(token.trim_end_matches('='))
            .map_err(|_| FilterError::BadPageToken("not a page token of this API"))?;
        let text = String::from_utf8(bytes)
            .map_err(|_| FilterError::BadPageToken("not a page token of this API"))?;
        let parts: Vec<&str> = text.split('|').collect();
        let ["v1", form, f, ms, seq] = parts.as_slice() else {
            return Err(FilterError::BadPageToken("not a page token of this API"));
        };
        if *form != form_id {
            return Err(FilterError::BadPageToken("issued for another form"));
        }
        if *f != filter_key(filter) {
            return Err(FilterError::BadPageToken(
                "the filter differs from the one the token was issued with",
            ));
        }
        match (ms.parse(), seq.parse()) {
            (Ok(last_ms), Ok(last_seq)) => Ok(PageToken { last_ms, last_seq }),
            _ => Err(FilterError::BadPageToken("not a page token of this API")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const T0: i128 = 1_412_262_083_000_000_000; // 2014-10-02T15:01:23Z

    #[test]
    fn the_two_filters_parse() {
        assert_eq!(
            parse("timestamp > 2014-10-02T15:01:23Z"),
            Ok(Some(Filter {
                inclusive: false,
                nanos: T0
            }))
        );
        assert_eq!(
            parse("  timestamp>=2014-10-02T15:01:23.045123456Z "),
            Ok(Some(Filter {
                inclusive: true,
                nanos: T0 + 45_123_456
            }))
        );
        assert_eq!(
            parse("timestamp >= 2014-10-02T15:01:23.5Z").map(|f| f.map(|f| f.nanos)),
            Ok(Some(T0 + 500_000_000))
        );
        assert_eq!(parse(""), Ok(None));
        assert_eq!(parse("   "), Ok(None));
    }

    #[test]
    fn anything_else_is_refused() {
        for bad in [
            "timestamp < 2014-10-02T15:01:23Z",
            "timestamp = 2014-10-02T15:01:23Z",
            "timestamp => 2014-10-02T15:01:23Z",
            "createTime > 2014-10-02T15:01:23Z",
            "Timestamp > 2014-10-02T15:01:23Z",
            "timestamp > 2014-10-02T15:01:23Z AND timestamp < 2015-01-01T00:00:00Z",
            "timestamp >",
            "timestamp",
            "> 2014-10-02T15:01:23Z",
            "timestamp > 2014-10-02 15:01:23Z",
        ] {
            assert!(
                matches!(parse(bad), Err(FilterError::Unsupported(_))),
                "{bad}"
            );
        }
        for bad in [
            "timestamp > 2014-10-02T15:01:23+02:00",
            "timestamp > 2014-10-02T15:01:23",
            "timestamp > 2014-10-02T15:01:23z",
            "timestamp > 2014-10-02",
            "timestamp > 1412262083",
            "timestamp > 2014-13-02T15:01:23Z",
            "timestamp > 2014-10-32T15:01:23Z",
            "timestamp > 2014-10-02T25:01:23Z",
            "timestamp > 2014-10-02T15:01:23.Z",
            "timestamp > 2014-10-02T15:01:23.0123456789Z",
            "timestamp > 2014-10-02T15:01:23.12aZ",
            "timestamp > \"2014-10-02T15:01:23Z\"",
        ] {
            assert!(
                matches!(parse(bad), Err(FilterError::BadTimestamp(_))),
                "{bad}: {:?}",
                parse(bad)
            );
        }
    }

    #[test]
    fn matches_compares_last_submitted_time() {
        let ms = (T0 / 1_000_000) as i64;
        let gt = Filter {
            inclusive: false,
            nanos: T0,
        };
        let ge = Filter {
            inclusive: true,
            nanos: T0,
        };
        assert!(!gt.matches(ms));
        assert!(gt.matches(ms + 1));
        assert!(ge.matches(ms));
        assert!(!ge.matches(ms - 1));
        // Sub-millisecond precision is kept: a response at .000 is before .000001.
        let fine = Filter {
            inclusive: true,
            nanos: T0 + 1,
        };
        assert!(!fine.matches(ms));
    }

    #[test]
    fn page_tokens_are_bound_to_form_and_filter() {
        let f = parse("timestamp >= 2014-10-02T15:01:23Z").expect("ok");
        let tok = PageToken {
            last_ms: 5,
            last_seq: 7,
        };
        let s = tok.encode("form1", f.as_ref());
        assert_eq!(PageToken::decode(&s, "form1", f.as_ref()), Ok(tok.clone()));
        let other = parse("timestamp > 2014-10-02T15:01:23Z").expect("ok");
        assert!(PageToken::decode(&s, "form1", other.as_ref()).is_err());
        assert!(PageToken::decode(&s, "form1", None).is_err());
        assert!(PageToken::decode(&s, "form2", f.as_ref()).is_err());
        assert!(PageToken::decode("garbage!", "form1", f.as_ref()).is_err());
        let unfiltered = tok.encode("form1", None);
        assert_eq!(PageToken::decode(&unfiltered, "form1", None), Ok(tok));
    }

    proptest! {
        #[test]
        fn the_parser_never_panics(s in "\\PC{0,60}") {
            let _ = parse(&s);
            let _ = PageToken::decode(&s, "f", None);
        }

        #[test]
        fn near_misses_never_panic(
            op in prop::sample::select(vec![">", ">=", "<", "=", "", " > "]),
            y in 0u32..10000, mo in 0u32..14, d in 0u32..33, h in 0u32..26, mi in 0u32..62,
            sec in 0u32..62, frac in "[0-9a.]{0,11}", z in prop::sample::select(vec!["Z", "z", "", "+00:00"]),
        ) {
            let s = format!("timestamp {op} {y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{sec:02}{frac}{z}");
            let _ = parse(&s);
        }

        #[test]
        fn valid_stamps_round_trip(secs in 0i64..4_000_000_000, nanos in 0u32..1_000_000_000) {
            let ts = jiff::Timestamp::new(secs, nanos as i32).expect("in range");
            let text = format!("timestamp >= {}", ts.strftime("%Y-%m-%dT%H:%M:%S%.fZ"));
            let f = parse(&text);
            prop_assert_eq!(f, Ok(Some(Filter { inclusive: true, nanos: ts.as_nanosecond() })), "{}", text);
        }
    }
}
