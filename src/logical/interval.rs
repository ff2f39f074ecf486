//! DuckDB's interval text, both ways. Parsing accepts what DuckDB's VARCHAR → INTERVAL cast
//! accepts: `1 year 2 months`, `2Y 3 mins 20mS`, `2 days ago`, `@2mons 1H`, clock times
//! `-05:12:34.5` (hours unbounded), a lone number (seconds), and fractional units, which
//! spill into the next smaller part like DuckDB (`1.5 months` = 1 month 15 days;
//! year-based units round to whole months). Formatting gives `1 year 2 months -3 days
//! 04:05:06.5`, or `00:00:00` for zero. Values are arrow's `IntervalMonthDayNano`.

use arrow::datatypes::IntervalMonthDayNano;

const MICROS_PER_DAY: i128 = 86_400_000_000;

/// The parts of an interval being summed (wide, checked when converted).
#[derive(Default)]
struct Parts {
    months: i128,
    days: i128,
    micros: i128,
}

/// The part a unit name (any case) adds to, with its size in that part.
enum Unit {
    /// Months per unit (year-based units round their fractions to whole months).
    Months(i128),
    /// One month: fractions spill into days (30 per month) and then microseconds.
    Month,
    /// Days per unit: fractions spill into microseconds.
    Days(i128),
    /// Microseconds per unit.
    Micros(i128),
    /// Microseconds, fractions dropped.
    Micro,
}

fn unit(name: &str) -> Option<Unit> {
    Some(match name.to_ascii_lowercase().as_str() {
        "millennium" | "millennia" | "millenniums" | "millenium" | "mil" | "mils" => Unit::Months(12_000),
        "century" | "centuries" | "cent" | "c" => Unit::Months(1_200),
        "decade" | "decades" | "dec" | "decs" => Unit::Months(120),
        "year" | "years" | "y" | "yr" | "yrs" => Unit::Months(12),
        "quarter" | "quarters" => Unit::Months(3),
        "month" | "months" | "mon" | "mons" => Unit::Month,
        "week" | "weeks" | "w" => Unit::Days(7),
        "day" | "days" | "d" => Unit::Days(1),
        "hour" | "hours" | "h" | "hr" | "hrs" => Unit::Micros(3_600_000_000),
        "minute" | "minutes" | "m" | "min" | "mins" => Unit::Micros(60_000_000),
        "second" | "seconds" | "s" | "sec" | "secs" => Unit::Micros(1_000_000),
        "millisecond" | "milliseconds" | "ms" | "msec" | "msecs" | "msecond" | "mseconds" => Unit::Micros(1_000),
        "microsecond" | "microseconds" | "us" | "usec" | "usecs" | "usecond" | "useconds" => Unit::Micro,
        _ => return None,
    })
}

/// `num / den` rounded half away from zero (`den > 0`).
fn div_round(num: i128, den: i128) -> i128 {
    let (q, r) = (num / den, num % den);
    if r.abs() * 2 >= den {
        q + num.signum()
    } else {
        q
    }
}

/// A number as written: whole part and fraction `frac / den`, with a sign.
struct Number {
    negative: bool,
    whole: i128,
    frac: i128,
    den: i128,
}

impl Parts {
    fn add(&mut self, n: &Number, unit: &Unit) -> Option<()> {
        let sign = if n.negative { -1 } else { 1 };
        let (whole, frac, den) = (n.whole, n.frac, n.den);
        match unit {
            Unit::Months(m) => {
                self.months += sign * (whole.checked_mul(*m)? + div_round(frac * m, den));
            }
            Unit::Month => {
                self.months += sign * whole;
                let day_num = frac * 30;
                self.days += sign * (day_num / den);
                self.micros += sign * div_round((day_num % den) * MICROS_PER_DAY, den);
            }
            Unit::Days(d) => {
                self.days += sign * whole.checked_mul(*d)?;
                let day_num = frac * d;
                self.days += sign * (day_num / den);
                self.micros += sign * div_round((day_num % den) * MICROS_PER_DAY, den);
            }
            Unit::Micros(u) => {
                self.micros += sign * (whole.checked_mul(*u)? + div_round(frac * u, den));
            }
            Unit::Micro => self.micros += sign * whole,
        }
        Some(())
    }

    fn finish(self) -> Option<IntervalMonthDayNano> {
        Some(IntervalMonthDayNano {
            months: i32::try_from(self.months).ok()?,
            days: i32::try_from(self.days).ok()?,
            nanoseconds: i64::try_from(self.micros.checked_mul(1000)?).ok()?,
        })
    }

    fn negate(&mut self) {
        self.months = -self.months;
        self.days = -self.days;
        self.micros = -self.micros;
    }
}

/// A cursor over the interval text.
struct Cursor<'a> {
    b: &'a [u8],
    i: usize,
}

impl<'a> Cursor<'a> {
    fn skip_space(&mut self) {
        while self.i < self.b.len() && self.b[self.i].is_ascii_whitespace() {
            self.i += 1;
        }
    }

    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }

    /// Digits as a number (at most 38 of them), and how many there were.
    fn digits(&mut self) -> Option<(i128, u32)> {
        let start = self.i;
        let mut v: i128 = 0;
        while let Some(c @ b'0'..=b'9') = self.peek() {
            v = v.checked_mul(10)?.checked_add(i128::from(c - b'0'))?;
            self.i += 1;
        }
        Some((v, (self.i - start) as u32))
    }

    fn word(&mut self) -> &'a str {
        let start = self.i;
        while self.peek().is_some_and(|c| c.is_ascii_alphabetic()) {
            self.i += 1;
        }
        std::str::from_utf8(&self.b[start..self.i]).unwrap_or("")
    }
}

/// Parses DuckDB interval text; the error says what was wrong.
pub fn parse(text: &str) -> Result<IntervalMonthDayNano, String> {
    let invalid = || format!("Could not convert string '{text}' to INTERVAL");
    let mut c = Cursor {
        b: text.as_bytes(),
        i: 0,
    };
    c.skip_space();
    if c.peek() == Some(b'@') {
        c.i += 1;
        c.skip_space();
    }
    if c.peek().is_none() {
        return Err(invalid());
    }
    let mut parts = Parts::default();
    let mut first = true;
    loop {
        c.skip_space();
        let Some(ch) = c.peek() else { break };
        if ch.is_ascii_alphabetic() {
            let w = c.word();
            c.skip_space();
            if !first && w.eq_ignore_ascii_case("ago") && c.peek().is_none() {
                parts.negate();
                break;
            }
            return Err(invalid());
        }
        let negative = ch == b'-';
        if negative {
            c.i += 1;
        }
        if !c.peek().is_some_and(|d| d.is_ascii_digit()) {
            return Err(invalid());
        }
        let (whole, _) = c.digits().ok_or_else(invalid)?;
        if c.peek() == Some(b':') {
            let micros = clock(&mut c, whole).ok_or_else(invalid)?;
            parts.micros += if negative { -micros } else { micros };
            first = false;
            continue;
        }
        let (mut frac, mut den) = (0i128, 1i128);
        if c.peek() == Some(b'.') {
            c.i += 1;
            let start = c.i;
            while let Some(d @ b'0'..=b'9') = c.peek() {
                if c.i - start < 18 {
                    frac = frac * 10 + i128::from(d - b'0');
                    den *= 10;
                }
                c.i += 1;
            }
        }
        let number = Number {
            negative,
            whole,
            frac,
            den,
        };
        c.skip_space();
        let name = c.word();
        let unit = if name.is_empty() {
            c.skip_space();
            if !(first && c.peek().is_none()) {
                return Err("extract specifier \"\" not recognized".to_string());
            }
            // A lone number is seconds.
            Unit::Micros(1_000_000)
        } else {
            unit(name).ok_or_else(|| format!("extract specifier \"{name}\" not recognized"))?
        };
        parts.add(&number, &unit).ok_or_else(invalid)?;
        first = false;
    }
    parts
        .finish()
        .ok_or_else(|| format!("Interval value {text} out of range"))
}

/// `H:MM[:SS[.ffffff]]` after the hours `hours` (the cursor is on the first `:`).
fn clock(c: &mut Cursor<'_>, hours: i128) -> Option<i128> {
    c.i += 1;
    let (minutes, n) = c.digits()?;
    if n == 0 || minutes >= 60 {
        return None;
    }
    let mut micros = hours.checked_mul(3_600_000_000)? + minutes * 60_000_000;
    if c.peek() == Some(b':') {
        c.i += 1;
        let (seconds, n) = c.digits()?;
        if n == 0 || seconds >= 60 {
            return None;
        }
        micros += seconds * 1_000_000;
        if c.peek() == Some(b'.') {
            c.i += 1;
            let mut scale = 100_000;
            while let Some(d @ b'0'..=b'9') = c.peek() {
                micros += i128::from(d - b'0') * scale;
                scale /= 10;
                c.i += 1;
            }
        }
    }
    Some(micros)
}

/// Adds `n` of the unit `name` (`INTERVAL '90' DAY`, `INTERVAL 1.5 HOURS`).
pub fn from_number(n: &str, name: &str) -> Result<IntervalMonthDayNano, String> {
    let unit = unit(name.trim()).ok_or_else(|| format!("extract specifier \"{name}\" not recognized"))?;
    let text = n.trim();
    let invalid = || format!("Could not convert string '{text}' to INTERVAL");
    let mut c = Cursor {
        b: text.as_bytes(),
        i: 0,
    };
    let negative = c.peek() == Some(b'-');
    if negative || c.peek() == Some(b'+') {
        c.i += 1;
    }
    let (whole, n_digits) = c.digits().ok_or_else(invalid)?;
    let (mut frac, mut den) = (0i128, 1i128);
    if c.peek() == Some(b'.') {
        c.i += 1;
        let (f, k) = c.digits().ok_or_else(invalid)?;
        if k > 18 {
            return Err(invalid());
        }
        frac = f;
        den = 10i128.pow(k);
    }
    if n_digits == 0 || c.peek().is_some() {
        return Err(invalid());
    }
    let mut parts = Parts::default();
    parts
        .add(
            &Number {
                negative,
                whole,
                frac,
                den,
            },
            &unit,
        )
        .ok_or_else(invalid)?;
    parts.finish().ok_or_else(invalid)
}

/// DuckDB's text for an interval: `1 year 2 months -3 days 04:05:06.5`, `00:00:00` for zero.
pub fn format(v: IntervalMonthDayNano, out: &mut String) {
    use std::fmt::Write;
    let start = out.len();
    let unit = |n: i64, name: &str, out: &mut String| {
        if out.len() > start {
            out.push(' ');
        }
        let _ = write!(out, "{n} {name}{}", if n.abs() == 1 { "" } else { "s" });
    };
    let (years, months) = (v.months / 12, v.months % 12);
    if years != 0 {
        unit(i64::from(years), "year", out);
    }
    if months != 0 {
        unit(i64::from(months), "month", out);
    }
    if v.days != 0 {
        unit(i64::from(v.days), "day", out);
    }
    let micros = i128::from(v.nanoseconds) / 1000;
    if micros != 0 || out.len() == start {
        if out.len() > start {
            out.push(' ');
        }
        if micros < 0 {
            out.push('-');
        }
        let m = micros.unsigned_abs();
        let secs = m / 1_000_000;
        let _ = write!(out, "{:02}:{:02}:{:02}", secs / 3600, (secs / 60) % 60, secs % 60);
        let sub = m % 1_000_000;
        if sub != 0 {
            let frac = format!("{sub:06}");
            let _ = write!(out, ".{}", frac.trim_end_matches('0'));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(s: &str) -> String {
        let mut out = String::new();
        format(parse(s).unwrap(), &mut out);
        out
    }

    #[test]
    fn parses_like_duckdb() {
        assert_eq!(text("2Y 1 month 1 M 3S 20mS 16uS"), "2 years 1 month 00:01:03.020016");
        assert_eq!(text("1.5 years"), "1 year 6 months");
        assert_eq!(text("1.1 years"), "1 year 1 month");
        assert_eq!(text("1.33 months"), "1 month 9 days 21:36:00");
        assert_eq!(text("1.5 weeks"), "10 days 12:00:00");
        assert_eq!(text("-1.5 days"), "-1 day -12:00:00");
        assert_eq!(text("0.0000000004 DAY"), "00:00:00.000035");
        assert_eq!(text("1.9 us"), "00:00:00.000001");
        assert_eq!(text("1.0000005 seconds"), "00:00:01.000001");
        assert_eq!(text("-05:12:34.567890"), "-05:12:34.56789");
        assert_eq!(text("35:10:00"), "35:10:00");
        assert_eq!(text("100"), "00:01:40");
        assert_eq!(text("2 days ago"), "-2 days");
        assert_eq!(text("@2mons 1H"), "2 months 01:00:00");
        assert_eq!(text("1 mils 2 c 1 decades 3 quarter"), "1210 years 9 months");
        assert_eq!(text("1h30m"), "01:30:00");
        for bad in [
            "",
            "   ",
            "ago",
            "1 day 100",
            "+1 day",
            "1 dayss",
            "1:60",
            "100000000000000000000msecs",
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn numbers_with_units() {
        let mut out = String::new();
        format(from_number("1.5", "day").unwrap(), &mut out);
        assert_eq!(out, "1 day 12:00:00");
    }
}
