//! Spark's REST date format: `yyyy-MM-dd'T'HH:mm:ss.SSS'GMT'` (UTC).

/// Formats epoch milliseconds the way SHS's Jackson mapper writes a `java.util.Date`.
pub fn format_gmt(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let millis = ms.rem_euclid(1000);
    let days = secs.div_euclid(86_400);
    let sod = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{millis:03}GMT",
        sod / 3600,
        (sod % 3600) / 60,
        sod % 60
    )
}

/// Parses the date forms SHS accepts in `minDate`/`maxDate` (`yyyy-MM-dd`,
/// `yyyy-MM-dd'T'HH:mm:ss.SSS'GMT'`) or epoch milliseconds.
pub fn parse_date(s: &str) -> Option<i64> {
    if let Ok(n) = s.parse::<i64>() {
        return Some(n);
    }
    let s = s.trim_end_matches("GMT");
    let (date, time) = match s.split_once('T') {
        Some((d, t)) => (d, Some(t)),
        None => (s, None),
    };
    let mut it = date.split('-');
    let y: i64 = it.next()?.parse().ok()?;
    let m: i64 = it.next()?.parse().ok()?;
    let d: i64 = it.next()?.parse().ok()?;
    let mut ms = days_from_civil(y, m, d) * 86_400_000;
    if let Some(t) = time {
        let (hms, frac) = t.split_once('.').unwrap_or((t, "0"));
        let mut p = hms.split(':');
        let h: i64 = p.next()?.parse().ok()?;
        let mi: i64 = p.next().unwrap_or("0").parse().ok()?;
        let se: i64 = p.next().unwrap_or("0").parse().ok()?;
        let fr: i64 = frac.get(..3.min(frac.len()))?.parse().unwrap_or(0);
        ms += ((h * 60 + mi) * 60 + se) * 1000 + fr;
    }
    Some(ms)
}

fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = if m > 2 { m - 3 } else { m + 9 };
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn formats_like_shs() {
        assert_eq!(format_gmt(1795548367517), "2026-11-24T19:26:07.517GMT");
        assert_eq!(format_gmt(-1), "1969-12-31T23:59:59.999GMT");
        assert_eq!(
            parse_date("2026-11-24T19:26:07.517GMT"),
            Some(1795548367517)
        );
        assert_eq!(parse_date("1970-01-02"), Some(86_400_000));
    }
}
