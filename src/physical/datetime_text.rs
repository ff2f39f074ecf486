//! DuckDB's text forms of DATE, TIMESTAMP and TIME, both ways, over the whole range DuckDB
//! supports (years beyond 9999, BC dates, `infinity`), which Arrow's and chrono's parsers do
//! not cover. Accepted input: `1992-09-20`, `1992/09/20`, `1992 09 20`, `1992\09\20`, a
//! leading `-` or a trailing `(BC)` for years before 1, surrounding whitespace, and for
//! timestamps a time after a space or `T` (`13:10`, `13:10:11.5`) with an optional offset
//! (`Z`, `+02`, `+05:30`, `UTC`) that is accepted and ignored, as DuckDB does without ICU.
//! TIMETZ values (a time with a UTC offset) are packed into an `i64` ([`encode_time_tz`]) and
//! carried as Arrow `Time64(Nanosecond)`, a type rask uses for nothing else.

use std::fmt::Write;

const MICROS_PER_DAY: i64 = 86_400_000_000;
/// TIMESTAMP `infinity` (and its negation, `-infinity`).
pub const TIMESTAMP_INFINITY: i64 = i64::MAX;
/// The earliest timestamp: 290309-12-22 (BC) 00:00:00.
pub const TIMESTAMP_MIN: i64 = -9_223_372_022_400_000_000;
/// DATE `infinity` (and `-infinity`).
pub const DATE_INFINITY: i32 = i32::MAX;
/// The earliest date: 5877642-06-25 (BC).
pub const DATE_MIN: i64 = -2_147_483_646;

/// Days since 1970-01-01 of a proleptic Gregorian date (`year` 0 is 1 BC).
pub fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let m = i64::from(month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The date `days` after 1970-01-01: (year, month, day), year 0 being 1 BC.
pub fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

fn days_in_month(year: i64, month: u32) -> u32 {
    match month {
        4 | 6 | 9 | 11 => 30,
        2 if year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) => 29,
        2 => 28,
        _ => 31,
    }
}

struct Cursor<'a> {
    b: &'a [u8],
    i: usize,
}

impl Cursor<'_> {
    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }

    fn skip_space(&mut self) -> bool {
        let start = self.i;
        while self.peek().is_some_and(|c| c.is_ascii_whitespace()) {
            self.i += 1;
        }
        self.i > start
    }

    fn eat(&mut self, c: u8) -> bool {
        if self.peek() == Some(c) {
            self.i += 1;
            true
        } else {
            false
        }
    }

    /// Between `min` and `max` digits as a number.
    fn number(&mut self, min: usize, max: usize) -> Option<i64> {
        let start = self.i;
        let mut v: i64 = 0;
        while let Some(c @ b'0'..=b'9') = self.peek() {
            if self.i - start == max {
                return None;
            }
            v = v * 10 + i64::from(c - b'0');
            self.i += 1;
        }
        (self.i - start >= min).then_some(v)
    }

    /// Exactly two digits (more may follow).
    fn two_digits(&mut self) -> Option<i64> {
        match self.b.get(self.i..self.i + 2) {
            Some([a @ b'0'..=b'9', b @ b'0'..=b'9']) => {
                self.i += 2;
                Some(i64::from(a - b'0') * 10 + i64::from(b - b'0'))
            }
            _ => None,
        }
    }

    fn at_end(&self) -> bool {
        self.i == self.b.len()
    }

    fn rest_is(&self, word: &str) -> bool {
        std::str::from_utf8(&self.b[self.i..]).is_ok_and(|r| r.trim().eq_ignore_ascii_case(word))
    }
}

/// The date at the cursor, as days since 1970.
fn date(c: &mut Cursor<'_>) -> Option<i64> {
    let negative = c.eat(b'-');
    let year = c.number(1, 9)?;
    let sep = c.peek().filter(|s| matches!(s, b'-' | b'/' | b' ' | b'\\'))?;
    c.i += 1;
    let month = c.number(1, 2)? as u32;
    if !c.eat(sep) {
        return None;
    }
    let day = c.number(1, 2)? as u32;
    let mut year = if negative { -year } else { year };
    let mark = c.i;
    c.skip_space();
    if c.b[c.i..].starts_with(b"(BC)") {
        c.i += 4;
        year = 1 - year;
    } else {
        c.i = mark;
    }
    if !(1..=12).contains(&month) || day == 0 || day > days_in_month(year, month) {
        return None;
    }
    Some(days_from_civil(year, month, day))
}

/// `HH:MM[:SS[.ffffff]]` at the cursor, as microseconds (24:00:00 allowed; digits past the
/// microseconds are dropped).
fn time(c: &mut Cursor<'_>) -> Option<i64> {
    time_nanos(c).map(|n| n / 1000)
}

/// `HH:MM[:SS[.fffffffff]]` at the cursor, as nanoseconds.
fn time_nanos(c: &mut Cursor<'_>) -> Option<i64> {
    let hours = c.number(1, 2)?;
    if !c.eat(b':') {
        return None;
    }
    let minutes = c.number(2, 2)?;
    let mut seconds = 0;
    let mut nanos = 0;
    if c.eat(b':') {
        seconds = c.number(2, 2)?;
        if c.eat(b'.') {
            let mut scale = 100_000_000;
            while let Some(d @ b'0'..=b'9') = c.peek() {
                nanos += i64::from(d - b'0') * scale;
                scale /= 10;
                c.i += 1;
            }
        }
    }
    if hours > 24 || minutes >= 60 || seconds >= 60 || (hours == 24 && (minutes, seconds, nanos) != (0, 0, 0)) {
        return None;
    }
    Some(((hours * 60 + minutes) * 60 + seconds) * 1_000_000_000 + nanos)
}

/// An optional UTC offset (`Z`, `+HH[[:]MM[[:]SS]]`, ` UTC`), skipped.
fn offset(c: &mut Cursor<'_>) -> Option<()> {
    let mark = c.i;
    c.skip_space();
    match c.peek() {
        Some(b'Z' | b'z') => c.i += 1,
        Some(b'+' | b'-') => {
            c.i += 1;
            c.number(2, 2)?;
            for _ in 0..2 {
                let colon = c.eat(b':');
                if c.number(2, 2).is_none() {
                    if colon {
                        return None;
                    }
                    break;
                }
            }
        }
        _ if c.rest_is("utc") => c.i = c.b.len(),
        _ => c.i = mark,
    }
    Some(())
}

/// A date and an optional time: days and nanoseconds into the day.
fn date_time(text: &str) -> Option<(i64, Option<i64>)> {
    let mut c = Cursor {
        b: text.trim().as_bytes(),
        i: 0,
    };
    let days = date(&mut c)?;
    let spaced = c.skip_space();
    if c.at_end() {
        return Some((days, None));
    }
    if !(spaced || c.eat(b'T') || c.eat(b't')) {
        return None;
    }
    let t = time_nanos(&mut c)?;
    offset(&mut c)?;
    c.skip_space();
    c.at_end().then_some((days, Some(t)))
}

/// Parses a DATE (days since 1970).
pub fn parse_date(text: &str) -> Result<i32, String> {
    let special = text.trim().to_ascii_lowercase();
    match special.as_str() {
        "infinity" => return Ok(DATE_INFINITY),
        "-infinity" => return Ok(-DATE_INFINITY),
        "epoch" => return Ok(0),
        _ => {}
    }
    let (days, _) = date_time(text)
        .ok_or_else(|| format!("invalid date field format: \"{text}\", expected format is (YYYY-MM-DD)"))?;
    if !(DATE_MIN..i64::from(DATE_INFINITY)).contains(&days) {
        return Err(format!("date field value out of range: \"{text}\""));
    }
    Ok(days as i32)
}

/// Parses a TIMESTAMP (microseconds since 1970).
pub fn parse_timestamp(text: &str) -> Result<i64, String> {
    let special = text.trim().to_ascii_lowercase();
    match special.as_str() {
        "infinity" => return Ok(TIMESTAMP_INFINITY),
        "-infinity" => return Ok(-TIMESTAMP_INFINITY),
        "epoch" => return Ok(0),
        _ => {}
    }
    let (days, t) = date_time(text).ok_or_else(|| {
        format!(
            "invalid timestamp field format: \"{text}\", expected format is (YYYY-MM-DD HH:MM:SS[.US][±HH:MM| ZONE])"
        )
    })?;
    let micros = i128::from(days) * i128::from(MICROS_PER_DAY) + i128::from(t.unwrap_or(0) / 1000);
    if !(i128::from(TIMESTAMP_MIN)..i128::from(TIMESTAMP_INFINITY)).contains(&micros) {
        return Err(format!("timestamp field value out of range: \"{text}\""));
    }
    Ok(micros as i64)
}

/// Parses a TIMESTAMP_NS (nanoseconds since 1970).
pub fn parse_timestamp_nanos(text: &str) -> Result<i64, String> {
    let (days, t) = date_time(text).ok_or_else(|| format!("invalid timestamp field format: \"{text}\""))?;
    let nanos = i128::from(days) * 86_400_000_000_000 + i128::from(t.unwrap_or(0));
    i64::try_from(nanos).map_err(|_| format!("timestamp field value out of range: \"{text}\""))
}

/// Parses a TIME (microseconds since midnight); a date before it is skipped, a date alone
/// is midnight.
pub fn parse_time(text: &str) -> Result<i64, String> {
    let bad = || format!("invalid time field format: \"{text}\", expected format is ([YYYY-MM-DD ]HH:MM:SS[.MS])");
    let mut c = Cursor {
        b: text.trim().as_bytes(),
        i: 0,
    };
    if let Some(t) = time(&mut c) {
        offset(&mut c).ok_or_else(bad)?;
        c.skip_space();
        if c.at_end() {
            return Ok(t);
        }
    }
    date_time(text).map(|(_, t)| t.unwrap_or(0) / 1000).ok_or_else(bad)
}

fn write_date(days: i64, out: &mut String) -> bool {
    let (year, month, day) = civil_from_days(days);
    let bc = year <= 0;
    let year = if bc { 1 - year } else { year };
    let _ = write!(out, "{year:04}-{month:02}-{day:02}");
    bc
}

/// Appends DuckDB's text for a DATE: `1992-09-20`, `0009-01-01 (BC)`, `infinity`.
pub fn format_date(days: i32, out: &mut String) {
    match days {
        DATE_INFINITY => out.push_str("infinity"),
        d if d == -DATE_INFINITY => out.push_str("-infinity"),
        d => {
            if write_date(i64::from(d), out) {
                out.push_str(" (BC)");
            }
        }
    }
}

/// Appends a time of day: `HH:MM:SS` and the fraction without trailing zeros.
pub fn format_time(micros: i64, out: &mut String) {
    let secs = micros / 1_000_000;
    let _ = write!(out, "{:02}:{:02}:{:02}", secs / 3600, secs / 60 % 60, secs % 60);
    let sub = micros % 1_000_000;
    if sub != 0 {
        let digits = format!("{sub:06}");
        out.push('.');
        out.push_str(digits.trim_end_matches('0'));
    }
}

/// Appends DuckDB's text for a TIMESTAMP_NS (nanoseconds since 1970).
pub fn format_timestamp_nanos(nanos: i64, out: &mut String) {
    const NANOS_PER_DAY: i64 = 86_400_000_000_000;
    if write_date(nanos.div_euclid(NANOS_PER_DAY), out) {
        out.push_str(" (BC)");
    }
    out.push(' ');
    let in_day = nanos.rem_euclid(NANOS_PER_DAY);
    format_time(in_day / 1000 / 1_000_000 * 1_000_000, out);
    let sub = in_day % 1_000_000_000;
    if sub != 0 {
        let digits = format!("{sub:09}");
        out.push('.');
        out.push_str(digits.trim_end_matches('0'));
    }
}

/// Appends DuckDB's text for a TIMESTAMP: `1992-09-20 11:30:00.5`,
/// `0009-01-01 (BC) 00:00:01.5`, `infinity`.
pub fn format_timestamp(micros: i64, out: &mut String) {
    match micros {
        TIMESTAMP_INFINITY => out.push_str("infinity"),
        m if m == -TIMESTAMP_INFINITY => out.push_str("-infinity"),
        m => {
            if write_date(m.div_euclid(MICROS_PER_DAY), out) {
                out.push_str(" (BC)");
            }
            out.push(' ');
            format_time(m.rem_euclid(MICROS_PER_DAY), out);
        }
    }
}

/// The largest TIMETZ offset in seconds (±15:59:59).
const MAX_OFFSET: i64 = 16 * 3600 - 1;
const MICROS_PER_HOUR: i64 = 3_600_000_000;

/// Packs a TIMETZ (local time in microseconds, UTC offset in seconds) into an `i64` whose
/// integer order is DuckDB's TIMETZ order: by the UTC instant, then by the offset.
pub fn encode_time_tz(micros: i64, offset: i64) -> i64 {
    let utc = micros - offset * 1_000_000 + 16 * MICROS_PER_HOUR;
    (utc << 24) | (MAX_OFFSET - offset)
}

/// The local time (microseconds) and UTC offset (seconds) of a packed TIMETZ.
pub fn decode_time_tz(packed: i64) -> (i64, i64) {
    let offset = MAX_OFFSET - (packed & 0xFF_FFFF);
    let utc = (packed >> 24) - 16 * MICROS_PER_HOUR;
    (utc + offset * 1_000_000, offset)
}

/// Parses a TIMETZ: `HH:MM[:SS[.f]]` (or a timestamp's text) and an optional offset
/// `±HH[[:]MM[[:]SS]]` (none is +00), packed by [`encode_time_tz`].
pub fn parse_time_tz(text: &str) -> Result<i64, String> {
    let bad = || format!("time field value out of range: \"{text}\"");
    let trimmed = text.trim();
    let mut c = Cursor {
        b: trimmed.as_bytes(),
        i: 0,
    };
    let micros = match time(&mut c) {
        Some(t) => t,
        None => {
            // A date first: its time of day, the offset after it.
            c.i = 0;
            date(&mut c).ok_or_else(bad)?;
            if !(c.skip_space() || c.eat(b'T')) {
                return Err(bad());
            }
            time(&mut c).ok_or_else(bad)?
        }
    };
    let mut offset = 0;
    if let Some(sign @ (b'+' | b'-')) = c.peek() {
        c.i += 1;
        let hours = c.two_digits().ok_or_else(bad)?;
        let mut minutes = 0;
        let mut seconds = 0;
        let colon = c.eat(b':');
        if let Some(m) = c.two_digits() {
            minutes = m;
            let colon = c.eat(b':');
            if let Some(sec) = c.two_digits() {
                seconds = sec;
            } else if colon {
                return Err(bad());
            }
        } else if colon {
            return Err(bad());
        }
        if hours > 15 || minutes >= 60 || seconds >= 60 {
            return Err(bad());
        }
        offset = (hours * 60 + minutes) * 60 + seconds;
        if sign == b'-' {
            offset = -offset;
        }
    }
    c.skip_space();
    if !c.at_end() {
        return Err(bad());
    }
    Ok(encode_time_tz(micros, offset))
}

/// Appends DuckDB's text for a packed TIMETZ: `02:30:00+04:30`, `16:15:03.5+00`.
pub fn format_time_tz(packed: i64, out: &mut String) {
    let (micros, offset) = decode_time_tz(packed);
    format_time(micros, out);
    out.push(if offset < 0 { '-' } else { '+' });
    let o = offset.abs();
    let _ = write!(out, "{:02}", o / 3600);
    if o % 3600 != 0 {
        let _ = write!(out, ":{:02}", o / 60 % 60);
        if o % 60 != 0 {
            let _ = write!(out, ":{:02}", o % 60);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date_text(s: &str) -> String {
        let mut out = String::new();
        format_date(parse_date(s).unwrap(), &mut out);
        out
    }

    fn ts_text(s: &str) -> String {
        let mut out = String::new();
        format_timestamp(parse_timestamp(s).unwrap(), &mut out);
        out
    }

    #[test]
    fn dates() {
        assert_eq!(date_text("1992/09/20"), "1992-09-20");
        assert_eq!(date_text(" 1992\\09\\20 "), "1992-09-20");
        assert_eq!(date_text("2020-01-01          12:34:56"), "2020-01-01");
        assert_eq!(date_text("2020-01-01 24:00:00"), "2020-01-01");
        assert_eq!(date_text("0-01-01"), "0001-01-01 (BC)");
        assert_eq!(date_text("-1000-01-01"), "1001-01-01 (BC)");
        assert_eq!(date_text("30000-01-01"), "30000-01-01");
        assert_eq!(date_text("5877642-06-25 (BC)"), "5877642-06-25 (BC)");
        assert_eq!(date_text("5881580-07-10"), "5881580-07-10");
        for bad in [
            "1992-09/20",
            "20200101",
            "2020-01-01 garbage",
            "1992-02-30",
            "5877642-06-24 (BC)",
            "5881580-07-11",
        ] {
            assert!(parse_date(bad).is_err(), "{bad}");
        }
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(civil_from_days(days_from_civil(-290308, 12, 22)), (-290308, 12, 22));
    }

    #[test]
    fn timestamps() {
        assert_eq!(ts_text("    2017-07-23     13:10:11    "), "2017-07-23 13:10:11");
        assert_eq!(ts_text("2017-07-23T13:10:11Z"), "2017-07-23 13:10:11");
        assert_eq!(ts_text("1970-01-01 00:00Z"), "1970-01-01 00:00:00");
        assert_eq!(ts_text("-8-01-01 00:00:01.5"), "0009-01-01 (BC) 00:00:01.5");
        assert_eq!(ts_text("290309-12-22 (BC) 00:00:00"), "290309-12-22 (BC) 00:00:00");
        assert_eq!(ts_text("294247-01-10 04:00:54.775806"), "294247-01-10 04:00:54.775806");
        assert_eq!(ts_text("2020-01-01 24:00:00"), "2020-01-02 00:00:00");
        assert_eq!(ts_text("infinity"), "infinity");
        for bad in [
            "290309-12-21 (BC) 12:59:59.999999",
            "294247-01-10 04:00:54.775807",
            "2017-07-23 13:10:11 AA",
            "2020-01-01 01",
        ] {
            assert!(parse_timestamp(bad).is_err(), "{bad}");
        }
        assert_eq!(parse_time("2021-08-20").unwrap(), 0);
        let tz = |s: &str| {
            let mut out = String::new();
            format_time_tz(parse_time_tz(s).unwrap(), &mut out);
            out
        };
        assert_eq!(tz("02:30:00+04:30:45"), "02:30:00+04:30:45");
        assert_eq!(tz("02:30:00-1200"), "02:30:00-12");
        assert_eq!(tz("2023-08-20 16:15:03.123456"), "16:15:03.123456+00");
        assert_eq!(tz("24:00:00-1559"), "24:00:00-15:59");
        for bad in [
            "02:30:00>04",
            "02:30:00+4",
            "02:30:00+4xx",
            "02:30:00+2000",
            "02:30:00+20:xx",
            "infinity",
        ] {
            assert!(parse_time_tz(bad).is_err(), "{bad}");
        }
        assert!(parse_time_tz("00:00:00+1559").unwrap() < parse_time_tz("00:00:00+1558").unwrap());
        assert!(parse_time_tz("02:30:00-12").unwrap() < parse_time_tz("16:15:03+00").unwrap());
        assert_eq!(parse_time("10:00:00+04").unwrap(), 36_000_000_000);
    }
}
