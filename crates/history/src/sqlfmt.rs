//! How Spark's History Server prints SQL metric values (`MetricUtils.stringValue`,
//! `Utils.bytesToString`, `Utils.msDurationToString`) and the iteration order of Scala's
//! immutable `Map`/`Set` of ints, which decides the order of job ids in `/sql`.

/// `MetricUtils.stringValue(metricType, values, maxMetrics)`; `max` is
/// `(value, stage id, stage attempt, task id)` of the task with the largest value, `None` when
/// the largest value came from the driver.
pub fn string_value(metric_type: &str, values: &[i64], max: Option<[i64; 4]>) -> String {
    const SUFFIX: &str = "(min, med, max (stageId: taskId))";
    let task_info = match max {
        None => "(driver)".to_owned(),
        Some(m) => format!("(stage {}.{}: task {})", m[1], m[2], m[3]),
    };
    match metric_type {
        "sum" => group_thousands(values.iter().fold(0i64, |a, b| a.wrapping_add(*b))),
        "average" => {
            let mut v: Vec<i64> = values.iter().copied().filter(|x| *x > 0).collect();
            if v.len() <= 1 {
                return average(v.first().copied().unwrap_or(0));
            }
            v.sort_unstable();
            let (min, med, mx) = (v[0], v[v.len() / 2], v[v.len() - 1]);
            format!(
                "{SUFFIX}:\n({}, {}, {} {task_info})",
                average(min),
                average(med),
                average(mx)
            )
        }
        "size" | "timing" | "nsTiming" => {
            let f = |x: i64| match metric_type {
                "size" => bytes_to_string(x),
                "timing" => ms_duration_to_string(x),
                _ => ms_duration_to_string(x / 1_000_000),
            };
            let mut v: Vec<i64> = values.iter().copied().filter(|x| *x >= 0).collect();
            if v.len() <= 1 {
                return f(v.first().copied().unwrap_or(0));
            }
            v.sort_unstable();
            let sum = v.iter().fold(0i64, |a, b| a.wrapping_add(*b));
            format!(
                "total {SUFFIX}\n{} ({}, {}, {} {task_info})",
                f(sum),
                f(v[0]),
                f(v[v.len() / 2]),
                f(v[v.len() - 1])
            )
        }
        // A V2 data source's custom metric: SHS cannot load its class.
        _ => "N/A".to_owned(),
    }
}

/// Whether `MetricUtils.metricNeedsMax`.
pub fn needs_max(metric_type: &str) -> bool {
    metric_type != "sum"
}

/// `NumberFormat.getIntegerInstance(Locale.US).format(n)`.
pub fn group_thousands(n: i64) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3 + 1);
    if n < 0 {
        out.push('-');
    }
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// `NumberFormat.getNumberInstance(Locale.US).format(value / 10.0)` (at most 3 decimals).
fn average(v: i64) -> String {
    let int = group_thousands(v / 10);
    let frac = (v % 10).unsigned_abs();
    let sign = if v < 0 && v / 10 == 0 { "-" } else { "" };
    if frac == 0 {
        format!("{sign}{int}")
    } else {
        format!("{sign}{int}.{frac}")
    }
}

/// `Utils.bytesToString(size)`: binary units, one decimal, half-up.
pub fn bytes_to_string(size: i64) -> String {
    const UNITS: [(&str, u32); 6] = [
        ("EiB", 60),
        ("PiB", 50),
        ("TiB", 40),
        ("GiB", 30),
        ("MiB", 20),
        ("KiB", 10),
    ];
    let s = i128::from(size);
    let (unit, shift) = UNITS
        .iter()
        .find(|(_, sh)| s >= 2 * (1i128 << sh))
        .map(|(u, sh)| (*u, *sh))
        .unwrap_or(("B", 0));
    // round_half_up(size * 10 / 2^shift), exactly.
    let den = 1i128 << shift;
    let num = s * 10;
    let tenths = if num >= 0 {
        (2 * num + den) / (2 * den)
    } else {
        -((2 * -num + den) / (2 * den))
    };
    let sign = if tenths < 0 { "-" } else { "" };
    let t = tenths.unsigned_abs();
    format!("{sign}{}.{} {unit}", t / 10, t % 10)
}

/// `Utils.msDurationToString(ms)`.
pub fn ms_duration_to_string(ms: i64) -> String {
    const SECOND: i64 = 1000;
    const MINUTE: i64 = 60 * SECOND;
    const HOUR: i64 = 60 * MINUTE;
    // Spark divides as `Float`, then Java's `%.1f` formats the widened double half-up from its
    // shortest decimal representation.
    #[allow(clippy::cast_precision_loss)]
    let fdiv = |d: i64| f64::from(ms as f32 / d as f32);
    if ms < SECOND {
        format!("{ms} ms")
    } else if ms < MINUTE {
        format!("{} s", java_fixed(fdiv(SECOND), 1))
    } else if ms < HOUR {
        format!("{} m", java_fixed(fdiv(MINUTE), 1))
    } else {
        format!("{} h", java_fixed(fdiv(HOUR), 2))
    }
}

/// Java's `%.Nf` of a double: the shortest decimal digits of the double, rounded half-up.
pub fn java_fixed(v: f64, decimals: usize) -> String {
    let neg = v < 0.0;
    let s = format!("{}", v.abs());
    let (int, frac) = s.split_once('.').unwrap_or((&s, ""));
    let mut digits: Vec<u8> = int.bytes().chain(frac.bytes()).map(|b| b - b'0').collect();
    let int_len = int.len();
    let keep = int_len + decimals;
    if digits.len() > keep {
        let round_up = digits[keep] >= 5;
        digits.truncate(keep);
        if round_up {
            let mut i = keep;
            loop {
                if i == 0 {
                    digits.insert(0, 1);
                    break;
                }
                i -= 1;
                if digits[i] == 9 {
                    digits[i] = 0;
                } else {
                    digits[i] += 1;
                    break;
                }
            }
        }
    } else {
        digits.resize(keep, 0);
    }
    let int_digits = digits.len() - decimals;
    let mut out = String::new();
    if neg {
        out.push('-');
    }
    for d in &digits[..int_digits] {
        out.push(char::from(b'0' + d));
    }
    if decimals > 0 {
        out.push('.');
        for d in &digits[int_digits..] {
            out.push(char::from(b'0' + d));
        }
    }
    out
}

/// `scala.util.hashing` `improve` as Scala 2.13's immutable `HashMap`/`HashSet` apply it.
fn improve(h: i32) -> u32 {
    let mut h = h.wrapping_add(!(h.wrapping_shl(9)));
    h ^= ((h as u32) >> 14) as i32;
    h = h.wrapping_add(h.wrapping_shl(4));
    (h ^ ((h as u32) >> 10) as i32) as u32
}

/// The iteration order of a Scala 2.13 immutable `Set[Int]` (or the keys of a `Map[Int, _]`)
/// built by adding `keys` in this order: insertion order up to 4 elements (`Set1`…`Set4`),
/// otherwise the CHAMP trie's order (each node's own entries by hash fragment, then its
/// sub-nodes).
pub fn scala_int_order(keys: &[i64]) -> Vec<i64> {
    if keys.len() <= 4 {
        return keys.to_vec();
    }
    #[allow(clippy::cast_possible_truncation)]
    let hashed: Vec<(i64, u32)> = keys.iter().map(|k| (*k, improve(*k as i32))).collect();
    let mut out = Vec::with_capacity(keys.len());
    champ(&hashed, 0, &mut out);
    out
}

fn champ(keys: &[(i64, u32)], shift: u32, out: &mut Vec<i64>) {
    if shift >= 32 {
        out.extend(keys.iter().map(|k| k.0));
        return;
    }
    let frag = |h: u32| (h >> shift) & 31;
    let mut groups: std::collections::BTreeMap<u32, Vec<(i64, u32)>> = Default::default();
    for k in keys {
        groups.entry(frag(k.1)).or_default().push(*k);
    }
    for g in groups.values() {
        if g.len() == 1 {
            out.push(g[0].0);
        }
    }
    for g in groups.values() {
        if g.len() > 1 {
            champ(g, shift + 5, out);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_like_spark() {
        assert_eq!(bytes_to_string(118), "118.0 B");
        assert_eq!(bytes_to_string(2048), "2.0 KiB");
        assert_eq!(bytes_to_string(1024 * 1024 * 400 + 512 * 1024), "400.5 MiB");
        assert_eq!(ms_duration_to_string(19_800), "19.8 s");
        assert_eq!(ms_duration_to_string(819), "819 ms");
        assert_eq!(ms_duration_to_string(90_000), "1.5 m");
        assert_eq!(group_thousands(3_000_000), "3,000,000");
        assert_eq!(group_thousands(-1234), "-1,234");
        assert_eq!(java_fixed(0.15, 1), "0.2");
        assert_eq!(java_fixed(9.96, 1), "10.0");
        assert_eq!(
            string_value("timing", &[409, 410], Some([410, 1, 0, 2])),
            "total (min, med, max (stageId: taskId))\n819 ms (409 ms, 410 ms, 410 ms (stage 1.0: task 2))"
        );
    }

    #[test]
    fn small_scala_sets_keep_insertion_order() {
        assert_eq!(scala_int_order(&[3, 1, 2]), vec![3, 1, 2]);
        let v = scala_int_order(&[0, 1, 2, 3, 4, 5, 6]);
        assert_eq!(v.len(), 7);
    }
}
