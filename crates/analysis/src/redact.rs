//! Redaction: everything a [`Summary`](crate) keeps passes through a [`Redactor`] so that a summary
//! holds performance metadata only.
//!
//! What is masked, and how:
//! - **Configuration** ([`Redactor::conf`]): only an allow-list of performance-relevant Spark
//!   properties is kept (executor/driver sizing, shuffle partitions, AQE, dynamic allocation,
//!   memory fractions, serializer, speculation, broadcast threshold, file split sizes, …).
//!   Everything else — Hadoop and system properties (`sun.java.command`, `user.dir`, …), the
//!   classpath, environment variables (`spark.executorEnv.*`, `spark.yarn.appMasterEnv.*`),
//!   `extraJavaOptions` — is dropped. A kept key or value matching Spark's default
//!   `spark.redaction.regex` `(?i)secret|password|token|access[.]?key` has its value replaced by
//!   [`REDACTED_CONF_VALUE`], exactly as Spark's UI does.
//! - **SQL text and plans** ([`Redactor::sql`]): literals are replaced by [`MASK`] while column
//!   names, node names, operator structure and expression ids (`#12`, `[id#3L]`) stay: quoted
//!   strings, operands of comparisons that are not column references (`(email#4 = ***)`,
//!   `(amount#9 > ***)`), `IN`/`INSET` lists, data-source filter values
//!   (`PushedFilters: [EqualTo(email,***)]`), date and timestamp literals. Then the PII pass.
//! - **PII anywhere** ([`Redactor::text`]): e-mail addresses, US social-security numbers
//!   (`ddd-dd-dddd`), payment-card numbers (13–19 digits, optionally grouped by spaces or dashes,
//!   with an issuer prefix 2–6 and a valid Luhn check), and phone numbers (international `+CC …`
//!   and US `(ddd) ddd-dddd` / `ddd-ddd-dddd` / `ddd.ddd.dddd` forms) are replaced by [`MASK`].
//!   File paths keep their structure: only the PII inside a path segment is masked.
//! - **Free-form messages** ([`Redactor::message`], e.g. task failure reasons): quoted strings
//!   and then the PII pass.
//!
//! Over-redaction controls (tested): application ids (`local-1795548357922`,
//! `application_1700000000000_0001`), epoch-millisecond timestamps, byte counts, stage ids, plan
//! ids (`[plan_id=53]`) and codegen ids stay as they are. Every function is idempotent:
//! redacting redacted text changes nothing.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::sync::OnceLock;

use regex::{Captures, Regex};

/// The replacement for a literal or a PII match.
pub const MASK: &str = "***";

/// The replacement Spark itself uses for a sensitive configuration value.
pub const REDACTED_CONF_VALUE: &str = "*********(redacted)";

/// Spark's default `spark.redaction.regex`.
pub const SPARK_REDACTION_REGEX: &str = "(?i)secret|password|token|access[.]?key";

/// Configuration keys kept verbatim (exact matches).
const ALLOWED_CONF_KEYS: &[&str] = &[
    "spark.app.id",
    "spark.cores.max",
    "spark.default.parallelism",
    "spark.driver.cores",
    "spark.driver.maxResultSize",
    "spark.driver.memory",
    "spark.driver.memoryOverhead",
    "spark.driver.memoryOverheadFactor",
    "spark.io.compression.codec",
    "spark.kryoserializer.buffer.max",
    "spark.locality.wait",
    "spark.master",
    "spark.network.timeout",
    "spark.rdd.compress",
    "spark.reducer.maxSizeInFlight",
    "spark.scheduler.mode",
    "spark.serializer",
    "spark.submit.deployMode",
    "spark.sql.autoBroadcastJoinThreshold",
    "spark.sql.broadcastTimeout",
    "spark.sql.execution.arrow.pyspark.enabled",
    "spark.sql.execution.pythonUDF.arrow.enabled",
    "spark.sql.join.preferSortMergeJoin",
    "spark.sql.parquet.compression.codec",
    "spark.sql.shuffle.partitions",
    "spark.sql.sources.partitionOverwriteMode",
    "spark.task.cpus",
    "spark.task.maxFailures",
];

/// Configuration key prefixes kept (every key starting with one of them), minus
/// [`DENIED_CONF_PARTS`].
const ALLOWED_CONF_PREFIXES: &[&str] = &[
    "spark.executor.",
    "spark.dynamicAllocation.",
    "spark.memory.",
    "spark.serializer.",
    "spark.shuffle.",
    "spark.speculation",
    "spark.sql.adaptive.",
    "spark.sql.files.",
    "spark.sql.inMemoryColumnarStorage.",
    "spark.python.worker.",
    "spark.excludeOnFailure.",
];

/// Key fragments that are never kept even under an allowed prefix: free-form JVM options,
/// class/library paths and environment variables can hold anything.
const DENIED_CONF_PARTS: &[&str] = &[
    "extraJavaOptions",
    "extraClassPath",
    "extraLibraryPath",
    "Env.",
    "env.",
    ".path",
    "Path",
];

/// Text right before a digit run that makes it an identifier, not a card number.
const ID_PREFIXES: &[&str] = &[
    "app-",
    "local-",
    "application_",
    "driver-",
    "job_",
    "container_",
    "attempt_",
    "_",
];

/// Compiled once, cheap to share: see the module documentation for what it masks.
#[derive(Debug)]
pub struct Redactor {
    sensitive: Regex,
    quoted: Regex,
    ds_filter: Regex,
    in_list: Regex,
    inset: Regex,
    comparison: Regex,
    sql_cmp_number: Regex,
    datetime: Regex,
    attr_ref: Regex,
    email: Regex,
    ssn: Regex,
    card: Regex,
    phone_intl: Regex,
    phone_us: Regex,
}

impl Default for Redactor {
    fn default() -> Self {
        Self::new()
    }
}

/// What [`Redactor::conf`] decided for one configuration entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfDecision {
    /// Not performance-relevant (or possibly sensitive free-form): leave it out of the summary.
    Drop,
    /// Keep under its key with this (possibly masked) value.
    Keep(String),
}

fn re(pattern: &str) -> Regex {
    // The patterns are constants of this module, checked by the unit tests.
    #[allow(clippy::expect_used)]
    Regex::new(pattern).expect("redaction pattern compiles")
}

impl Redactor {
    /// Compile every pattern. Prefer [`Redactor::shared`] unless you need your own.
    pub fn new() -> Self {
        Self {
            sensitive: re(SPARK_REDACTION_REGEX),
            quoted: re(r#"'(?:[^'\\\n]|\\.)*'|"(?:[^"\\\n]|\\.)*""#),
            ds_filter: re(
                r"\b(EqualTo|EqualNullSafe|GreaterThanOrEqual|GreaterThan|LessThanOrEqual|LessThan|StringStartsWith|StringEndsWith|StringContains|Contains|StartsWith|EndsWith)\(([^,()\[\]]*),",
            ),
            in_list: re(r"(?i)\b(?:not\s+)?in\s*[(\[]"),
            inset: re(r"\bINSET\b"),
            comparison: re(r" (?:<=>|<=|>=|!=|<>|=|<|>|LIKE|RLIKE|ILIKE) "),
            sql_cmp_number: re(
                r"(?i)((?:[\w\]`)]\s*(?:<=>|<=|>=|!=|<>|==|=|<|>))|\b(?:between|and|like)\b)(\s*)([-+]?\d[\w.:+-]*)",
            ),
            datetime: re(
                r"\b\d{4}-\d{2}-\d{2}(?:[ T]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?\b",
            ),
            attr_ref: re(r"\w#\d+"),
            email: re(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}"),
            ssn: re(r"\b\d{3}-\d{2}-\d{4}\b"),
            card: re(r"\b\d(?:[ -]?\d){12,18}\b"),
            phone_intl: re(
                r"\+\d{1,3}[ .\-]?(?:\(\d{1,4}\)[ .\-]?)?\d{1,4}(?:[ .\-]?\d{2,4}){1,4}\b",
            ),
            phone_us: re(r"(?:\(\d{3}\)\s?|\b\d{3}[ .\-])\d{3}[ .\-]\d{4}\b"),
        }
    }

    /// The process-wide instance (compiled on first use).
    pub fn shared() -> &'static Redactor {
        static SHARED: OnceLock<Redactor> = OnceLock::new();
        SHARED.get_or_init(Redactor::new)
    }

    /// Does this key or value match Spark's default `spark.redaction.regex`?
    pub fn is_sensitive(&self, key: &str, value: &str) -> bool {
        self.sensitive.is_match(key) || self.sensitive.is_match(value)
    }

    /// Is this configuration key on the performance allow-list?
    pub fn is_allowed_conf_key(key: &str) -> bool {
        if DENIED_CONF_PARTS.iter().any(|d| key.contains(d)) {
            return false;
        }
        ALLOWED_CONF_KEYS.contains(&key) || ALLOWED_CONF_PREFIXES.iter().any(|p| key.starts_with(p))
    }

    /// Decide one configuration entry: dropped unless allow-listed; a sensitive value is
    /// replaced by [`REDACTED_CONF_VALUE`]; `spark.master` keeps only its kind (`local[4]`,
    /// `yarn`, `k8s`, `spark`, …) because the rest is a host name; any other value goes through
    /// the PII pass.
    pub fn conf(&self, key: &str, value: &str) -> ConfDecision {
        if !Self::is_allowed_conf_key(key) {
            return ConfDecision::Drop;
        }
        if self.is_sensitive(key, value) {
            return ConfDecision::Keep(REDACTED_CONF_VALUE.to_owned());
        }
        if key == "spark.master" {
            let kind = match value.find("://") {
                Some(i) => &value[..i],
                None => value,
            };
            return ConfDecision::Keep(self.text(kind).into_owned());
        }
        ConfDecision::Keep(self.text(value).into_owned())
    }

    /// Filter a whole property list (e.g. `Spark Properties` of the environment update) down to
    /// the kept, masked entries, sorted by key.
    pub fn conf_map<'a, I>(&self, entries: I) -> BTreeMap<String, String>
    where
        I: IntoIterator<Item = (&'a str, &'a str)>,
    {
        entries
            .into_iter()
            .filter_map(|(k, v)| match self.conf(k, v) {
                ConfDecision::Keep(v) => Some((k.to_owned(), v)),
                ConfDecision::Drop => None,
            })
            .collect()
    }

    /// Mask PII (e-mail, SSN, Luhn-valid card numbers, phone numbers) in any kept string: names,
    /// descriptions, file paths, call sites.
    pub fn text<'a>(&self, s: &'a str) -> Cow<'a, str> {
        if !s.bytes().any(|b| b.is_ascii_digit() || b == b'@') {
            return Cow::Borrowed(s);
        }
        let mut out: Cow<'a, str> = Cow::Borrowed(s);
        if s.contains('@') {
            out = replace_cow(out, &self.email, |_| MASK.to_owned());
        }
        out = replace_cow(out, &self.ssn, |_| MASK.to_owned());
        out = self.mask_cards(out);
        out = replace_cow(out, &self.phone_intl, |_| MASK.to_owned());
        out = replace_cow(out, &self.phone_us, |_| MASK.to_owned());
        out
    }

    /// Luhn-valid card numbers, except digit runs that are part of a Spark/YARN id
    /// (`app-20241125075823-0003`, `application_…`, `local-…`).
    fn mask_cards<'a>(&self, s: Cow<'a, str>) -> Cow<'a, str> {
        let mut out = String::new();
        let mut last = 0;
        for m in self.card.find_iter(&s) {
            let before = &s[..m.start()];
            let id_like = ID_PREFIXES.iter().any(|p| before.ends_with(p))
                || s[m.end()..].starts_with(['-', '_']);
            if id_like || !is_card_number(m.as_str()) {
                continue;
            }
            out.push_str(&s[last..m.start()]);
            out.push_str(MASK);
            last = m.end();
        }
        if last == 0 {
            return s;
        }
        out.push_str(&s[last..]);
        Cow::Owned(out)
    }

    /// Redact every string value (not the keys) of a JSON tree with [`Redactor::message`]: for
    /// structures passed through wholesale, such as the reader's diagnostics (parse errors can
    /// quote the offending value).
    pub fn json_strings(&self, v: &mut serde_json::Value) {
        match v {
            serde_json::Value::String(s) => {
                if let Cow::Owned(o) = self.message(s) {
                    *s = o;
                }
            }
            serde_json::Value::Array(a) => a.iter_mut().for_each(|x| self.json_strings(x)),
            serde_json::Value::Object(m) => m.values_mut().for_each(|x| self.json_strings(x)),
            _ => {}
        }
    }

    /// Mask quoted strings, then PII: for free-form messages such as task failure reasons and
    /// exception text.
    pub fn message<'a>(&self, s: &'a str) -> Cow<'a, str> {
        let out = replace_cow(Cow::Borrowed(s), &self.quoted, |_| MASK.to_owned());
        match out {
            Cow::Borrowed(b) => self.text(b),
            Cow::Owned(o) => Cow::Owned(self.text(&o).into_owned()),
        }
    }

    /// Mask literals in SQL text, plan text (`physicalPlanDescription`, plan node strings,
    /// `PushedFilters`, `PartitionFilters`, …) and job/SQL descriptions, then PII.
    pub fn sql(&self, s: &str) -> String {
        let plan_mode = self.attr_ref.is_match(s);
        let mut out = self.quoted.replace_all(s, MASK).into_owned();
        out = self.mask_ds_filters(&out);
        out = self.mask_in_lists(&out);
        out = self.mask_inset(&out);
        out = self.mask_comparisons(&out, plan_mode);
        if !plan_mode {
            // SQL text: `n=42`, `BETWEEN 1 AND 9`. (Plan text prints comparisons spaced and
            // parenthesised, handled above; its `plan_id=53` / `step=1` are structure.)
            out = self
                .sql_cmp_number
                .replace_all(&out, |c: &Captures<'_>| {
                    let op = c.get(1).map_or("", |m| m.as_str());
                    let ws = c.get(2).map_or("", |m| m.as_str());
                    format!("{op}{ws}{MASK}")
                })
                .into_owned();
        }
        out = self.datetime.replace_all(&out, MASK).into_owned();
        self.text(&out).into_owned()
    }

    /// `EqualTo(col,value)` and friends → `EqualTo(col,***)`; `In(col, [a,b])` is handled by
    /// [`Self::mask_in_lists`].
    fn mask_ds_filters(&self, s: &str) -> String {
        let mut out = String::with_capacity(s.len());
        let mut last = 0;
        for c in self.ds_filter.captures_iter(s) {
            let Some(m) = c.get(0) else { continue };
            if m.start() < last {
                continue;
            }
            // The value runs to the parenthesis that closes the filter.
            let value_start = m.end();
            let end = find_close(s, value_start, b'(', b')').unwrap_or(s.len());
            out.push_str(&s[last..value_start]);
            out.push_str(MASK);
            last = end;
        }
        out.push_str(&s[last..]);
        out
    }

    /// `IN (a, b)`, `In(col, [a,b])` and `NOT IN (…)` lists of literals → `IN (***)`.
    fn mask_in_lists(&self, s: &str) -> String {
        let mut out = String::with_capacity(s.len());
        let mut last = 0;
        let bytes = s.as_bytes();
        let mut pos = 0;
        while let Some(m) = self.in_list.find_at(s, pos) {
            pos = m.end();
            let open = bytes[m.end() - 1];
            let close = if open == b'(' { b')' } else { b']' };
            // Data-source form `In(col, [a,b])`: the bracket list follows the column.
            let (list_start, open, close) = if open == b'(' && s[m.start()..].starts_with("In(") {
                match s[m.end()..].find(", [") {
                    Some(i) if !s[m.end()..m.end() + i].contains([')', '(']) => {
                        (m.end() + i + 3, b'[', b']')
                    }
                    _ => (m.end(), open, close),
                }
            } else {
                (m.end(), open, close)
            };
            let Some(end) = find_close(s, list_start, open, close) else {
                continue;
            };
            let inner = &s[list_start..end];
            let subquery = inner.to_ascii_lowercase().contains("select");
            if self.attr_ref.is_match(inner) || subquery || inner.trim().is_empty() {
                continue;
            }
            if list_start < last {
                continue;
            }
            out.push_str(&s[last..list_start]);
            out.push_str(MASK);
            last = end;
            pos = end;
        }
        out.push_str(&s[last..]);
        out
    }

    /// `col#1 INSET a, b, c` (Spark's optimised IN) → `col#1 INSET ***`.
    fn mask_inset(&self, s: &str) -> String {
        let mut out = String::with_capacity(s.len());
        let mut last = 0;
        for m in self.inset.find_iter(s) {
            if m.start() < last {
                continue;
            }
            let start = m.end();
            let end = group_end(s, start);
            if s[start..end].trim() == MASK || s[start..end].trim().is_empty() {
                continue;
            }
            out.push_str(&s[last..start]);
            out.push(' ');
            out.push_str(MASK);
            last = end;
        }
        out.push_str(&s[last..]);
        out
    }

    /// In `(left op right)` comparisons mask an operand that is not a column reference. In plan
    /// text (which has `name#id` references) an operand without one is a literal, however it is
    /// printed; in SQL text only the right operand is considered, and only when it is a quoted
    /// (already masked) value or a number — a bare word there is a column name.
    fn mask_comparisons(&self, s: &str, plan_mode: bool) -> String {
        let mut spans: Vec<(usize, usize)> = Vec::new();
        for m in self.comparison.find_iter(s) {
            let r_start = m.end();
            let r_end = operand_end(s, r_start);
            let right = &s[r_start..r_end];
            if plan_mode {
                if !right.trim().is_empty() && !self.attr_ref.is_match(right) {
                    spans.push((r_start, r_end));
                }
                let l_start = operand_start(s, m.start());
                let left = &s[l_start..m.start()];
                if !left.trim().is_empty()
                    && !self.attr_ref.is_match(left)
                    && left.trim() != MASK
                    && looks_like_literal(left)
                {
                    spans.push((l_start, m.start()));
                }
            } else if looks_like_literal(right) && right.trim() != MASK {
                spans.push((r_start, r_end));
            }
        }
        if spans.is_empty() {
            return s.to_owned();
        }
        spans.sort_unstable();
        let mut out = String::with_capacity(s.len());
        let mut last = 0;
        for (a, b) in spans {
            if a < last {
                continue;
            }
            out.push_str(&s[last..a]);
            out.push_str(MASK);
            last = b;
        }
        out.push_str(&s[last..]);
        out
    }
}

/// A left operand (in plan text) that is not a column reference: a number, a date, a masked
/// value, or any bare word without a function call.
fn looks_like_literal(s: &str) -> bool {
    let t = s.trim();
    if t.is_empty() || t == MASK {
        return false;
    }
    let first = t.as_bytes()[0];
    first.is_ascii_digit()
        || first == b'-'
        || first == b'+'
        || t.starts_with(MASK)
        || !t.contains('(')
}

/// End of the operand starting at `start`: the parenthesis closing the enclosing group, a line
/// end, or a top-level ` AND ` / ` OR ` / `, ` (whichever comes first).
fn operand_end(s: &str, start: usize) -> usize {
    let b = s.as_bytes();
    let mut depth = 0i32;
    let mut i = start;
    while i < b.len() {
        match b[i] {
            b'(' | b'[' => depth += 1,
            b')' | b']' => {
                if depth == 0 {
                    return i;
                }
                depth -= 1;
            }
            b'\n' => return i,
            b' ' if depth == 0 => {
                let rest = &s[i..];
                if rest.starts_with(" AND ")
                    || rest.starts_with(" OR ")
                    || rest.starts_with(" and ")
                    || rest.starts_with(" or ")
                {
                    return i;
                }
            }
            b',' if depth == 0 => return i,
            _ => {}
        }
        i += 1;
    }
    b.len()
}

/// End of the enclosing group: the unbalanced closing parenthesis/bracket or the line end.
fn group_end(s: &str, start: usize) -> usize {
    let mut depth = 0i32;
    for (i, &c) in s.as_bytes().iter().enumerate().skip(start) {
        match c {
            b'(' | b'[' => depth += 1,
            b')' | b']' => {
                if depth == 0 {
                    return i;
                }
                depth -= 1;
            }
            b'\n' => return i,
            _ => {}
        }
    }
    s.len()
}

/// Start of the operand ending at `end` (exclusive), scanning left symmetrically to
/// [`operand_end`].
fn operand_start(s: &str, end: usize) -> usize {
    let b = s.as_bytes();
    let mut depth = 0i32;
    let mut i = end;
    while i > 0 {
        let c = b[i - 1];
        match c {
            b')' | b']' => depth += 1,
            b'(' | b'[' => {
                if depth == 0 {
                    return i;
                }
                depth -= 1;
            }
            b'\n' => return i,
            b',' if depth == 0 => return i,
            b' ' if depth == 0 => {
                let before = &s[..i];
                if before.ends_with(" AND") || before.ends_with(" OR") || before.ends_with(':') {
                    return i;
                }
            }
            _ => {}
        }
        i -= 1;
    }
    0
}

/// Index of the `close` byte balancing an already-open group whose content starts at `start`.
fn find_close(s: &str, start: usize, open: u8, close: u8) -> Option<usize> {
    let mut depth = 0i32;
    for (i, &c) in s.as_bytes().iter().enumerate().skip(start) {
        if c == open {
            depth += 1;
        } else if c == close {
            if depth == 0 {
                return Some(i);
            }
            depth -= 1;
        } else if c == b'\n' {
            return None;
        }
    }
    None
}

/// 13–19 digits (spaces/dashes allowed between them), an issuer prefix 2–6 (so epoch
/// milliseconds and Spark application ids, which start with 1, never match) and a valid Luhn
/// check digit.
pub fn is_card_number(s: &str) -> bool {
    let digits: Vec<u32> = s.chars().filter_map(|c| c.to_digit(10)).collect();
    if !(13..=19).contains(&digits.len()) {
        return false;
    }
    if !(2..=6).contains(&digits[0]) {
        return false;
    }
    luhn_valid(&digits)
}

/// The Luhn (mod 10) check used by payment-card numbers.
pub fn luhn_valid(digits: &[u32]) -> bool {
    let sum: u32 = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &d)| {
            if i % 2 == 1 {
                let x = d * 2;
                if x > 9 {
                    x - 9
                } else {
                    x
                }
            } else {
                d
            }
        })
        .sum();
    sum % 10 == 0
}

fn replace_cow<'a, F>(s: Cow<'a, str>, re: &Regex, mut f: F) -> Cow<'a, str>
where
    F: FnMut(&Captures<'_>) -> String,
{
    if !re.is_match(&s) {
        return s;
    }
    Cow::Owned(re.replace_all(&s, |c: &Captures<'_>| f(c)).into_owned())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn r() -> &'static Redactor {
        Redactor::shared()
    }

    #[test]
    fn conf_allow_list_and_spark_regex() {
        let r = r();
        assert_eq!(
            r.conf("spark.executor.memory", "4g"),
            ConfDecision::Keep("4g".into())
        );
        assert_eq!(
            r.conf("spark.sql.shuffle.partitions", "8"),
            ConfDecision::Keep("8".into())
        );
        assert_eq!(
            r.conf("sun.java.command", "x --password y"),
            ConfDecision::Drop
        );
        assert_eq!(
            r.conf("spark.hadoop.fs.s3a.secret.key", "abc"),
            ConfDecision::Drop
        );
        assert_eq!(
            r.conf("spark.executorEnv.DB_PASS", "abc"),
            ConfDecision::Drop
        );
        assert_eq!(
            r.conf("spark.driver.extraJavaOptions", "-Dx=1"),
            ConfDecision::Drop
        );
        assert_eq!(
            r.conf("spark.executor.extraJavaOptions", "-Dx=1"),
            ConfDecision::Drop
        );
        assert_eq!(
            r.conf("spark.executor.authToken", "abc"),
            ConfDecision::Keep(REDACTED_CONF_VALUE.into())
        );
        assert_eq!(
            r.conf("spark.executor.foo", "my_password_is_x"),
            ConfDecision::Keep(REDACTED_CONF_VALUE.into())
        );
        assert_eq!(
            r.conf("spark.master", "spark://db-host.corp:7077"),
            ConfDecision::Keep("spark".into())
        );
        assert_eq!(
            r.conf("spark.master", "local[2]"),
            ConfDecision::Keep("local[2]".into())
        );
    }

    #[test]
    fn plan_literals() {
        let r = r();
        let plan = "Condition : (isnotnull(email#12) AND (email#12 = alice@example.com))";
        assert_eq!(
            r.sql(plan),
            "Condition : (isnotnull(email#12) AND (email#12 = ***))"
        );
        let pf = "PushedFilters: [IsNotNull(email), EqualTo(email,bob.smith@corp.io), GreaterThan(amount,100.5)]";
        assert_eq!(
            r.sql(pf),
            "PushedFilters: [IsNotNull(email), EqualTo(email,***), GreaterThan(amount,***)]"
        );
        let inl = "Condition : ssn#3 IN (123-45-6789,987-65-4321)";
        assert_eq!(r.sql(inl), "Condition : ssn#3 IN (***)");
        let ds_in = "PushedFilters: [In(name, [John Doe,Mary Major])]";
        assert_eq!(r.sql(ds_in), "PushedFilters: [In(name, [***])]");
        let inset = "Condition : name#3 INSET John Doe, Mary Major";
        assert_eq!(r.sql(inset), "Condition : name#3 INSET ***");
        let date = "PartitionFilters: [isnotnull(dt#5), (dt#5 = 2024-01-01)]";
        assert_eq!(
            r.sql(date),
            "PartitionFilters: [isnotnull(dt#5), (dt#5 = ***)]"
        );
        let ts = "(ts#7 >= 2024-01-01 10:00:00)";
        assert_eq!(r.sql(ts), "(ts#7 >= ***)");
        let keep = "Arguments: hashpartitioning(region#6L, 8), ENSURE_REQUIREMENTS, [plan_id=211]";
        assert_eq!(r.sql(keep), keep);
        let keep2 = "(2) Project [codegen id : 1]\nOutput [2]: [id#4L AS customer_id#5L, (id#4L % 20) AS region#6L]";
        assert_eq!(r.sql(keep2), keep2);
        let join = "Join condition: (customer_id#8L = customer_id#5L)";
        assert_eq!(r.sql(join), join);
        let lhs = "Condition : (100 < amount#9)";
        assert_eq!(r.sql(lhs), "Condition : (*** < amount#9)");
        let contains = "Condition : (isnotnull(name#0) AND Contains(name#0, smith))";
        assert_eq!(
            r.sql(contains),
            "Condition : (isnotnull(name#0) AND Contains(name#0,***))"
        );
        let rk = "Condition : (rk#26 <= 3)";
        assert_eq!(r.sql(rk), "Condition : (rk#26 <= ***)");
    }

    #[test]
    fn sql_text_literals() {
        let r = r();
        let q = "SELECT name, amount FROM t WHERE email = 'alice@example.com' AND amount > 100 AND id IN (1, 2, 3)";
        assert_eq!(
            r.sql(q),
            "SELECT name, amount FROM t WHERE email = *** AND amount > *** AND id IN (***)"
        );
        let q2 = "select * from a join b on a.k = b.k where a.x in (select y from c)";
        assert_eq!(r.sql(q2), q2);
        let q3 = "SELECT * FROM t WHERE d BETWEEN DATE '2024-01-01' AND DATE '2024-02-01' and n=42";
        assert_eq!(
            r.sql(q3),
            "SELECT * FROM t WHERE d BETWEEN DATE *** AND DATE *** and n=***"
        );
    }

    #[test]
    fn pii_anywhere() {
        let r = r();
        assert_eq!(
            r.text("mail alice.o+x@mail.example.org now"),
            "mail *** now"
        );
        assert_eq!(r.text("ssn 123-45-6789."), "ssn ***.");
        assert_eq!(r.text("card 4111 1111 1111 1111 ok"), "card *** ok");
        assert_eq!(r.text("card 4111-1111-1111-1111"), "card ***");
        assert_eq!(r.text("card 4111111111111111"), "card ***");
        // Not Luhn-valid: stays.
        assert_eq!(r.text("n 4111111111111112"), "n 4111111111111112");
        assert_eq!(
            r.text("call +1 415 555 0132 or (415) 555-0199 or 415-555-0100"),
            "call *** or *** or ***"
        );
        assert_eq!(r.text("+44 20 7946 0958"), "***");
        assert_eq!(
            r.text("/data/users/alice@example.com/part-0000.parquet"),
            "/data/users/***/part-0000.parquet"
        );
    }

    #[test]
    fn over_redaction_controls() {
        let r = r();
        for keep in [
            "local-1795548357922",
            "application_1700000000000_0001",
            "app-20241125075823-0003",
            "1795549179151",
            "bytes 5368709120 read, 123456789 records",
            "stage 12 attempt 0",
            "[plan_id=53]",
            "2026-11-25T07:58:23Z",
            "192.0.2.2:35879",
            "file:/tmp/gen-eventlogs-data/etl_mixed_rolling/orders",
        ] {
            assert_eq!(r.text(keep), keep, "text() changed {keep}");
        }
        // The timeline-relevant numbers are also safe in descriptions.
        assert_eq!(
            r.sql("collect at /work/tools/gen-eventlogs.py:38"),
            "collect at /work/tools/gen-eventlogs.py:38"
        );
    }

    #[test]
    fn json_string_values() {
        let mut v = serde_json::json!({
            "malformed": [{"file": "local-1795593810027.zstd", "line": 22,
                           "error": "invalid type: string \"alice@example.com\", expected i64"}],
            "codec": "zstd"
        });
        r().json_strings(&mut v);
        assert_eq!(
            v["malformed"][0]["error"],
            "invalid type: string ***, expected i64"
        );
        assert_eq!(v["malformed"][0]["file"], "local-1795593810027.zstd");
        assert_eq!(v["codec"], "zstd");
    }

    #[test]
    fn luhn() {
        assert!(luhn_valid(&[7, 9, 9, 2, 7, 3, 9, 8, 7, 1, 3]));
        assert!(is_card_number("378282246310005"));
        assert!(is_card_number("5555 5555 5555 4444"));
        assert!(!is_card_number("1795548357922"));
    }

    mod props {
        use super::super::*;
        use proptest::prelude::*;

        fn pii() -> impl Strategy<Value = String> {
            prop_oneof![
                (
                    "[a-z]{1,8}(\\.[a-z]{1,5})?",
                    "[a-z]{2,8}",
                    "(com|org|io|co\\.uk)"
                )
                    .prop_map(|(u, d, t)| format!("{u}@{d}.{t}")),
                (100u32..900, 10u32..99, 1000u32..9999)
                    .prop_map(|(a, b, c)| format!("{a}-{b}-{c}")),
                prop::sample::select(vec![
                    "4111 1111 1111 1111",
                    "4111-1111-1111-1111",
                    "5555555555554444",
                    "378282246310005",
                    "6011111111111117",
                    "4012888888881881",
                ])
                .prop_map(str::to_owned),
                (200u32..999, 200u32..999, 1000u32..9999)
                    .prop_map(|(a, b, c)| format!("({a}) {b}-{c}")),
                (200u32..999, 200u32..999, 1000u32..9999)
                    .prop_map(|(a, b, c)| format!("+1 {a} {b} {c}")),
            ]
        }

        fn context() -> impl Strategy<Value = String> {
            prop::sample::select(vec![
                "Condition : (isnotnull(email#12) AND (email#12 = {}))",
                "PushedFilters: [IsNotNull(email), EqualTo(email,{})]",
                "Condition : ssn#3 IN ({},x)",
                "SELECT * FROM t WHERE c = '{}'",
                "ValueError: bad value {} in row",
                "Location: InMemoryFileIndex [file:/data/{}/part-0.parquet]",
                "PartitionFilters: [(owner#9 = {})]",
                "{}",
                "job for {}, stage 3",
            ])
            .prop_map(str::to_owned)
        }

        proptest! {
            #[test]
            fn no_planted_pii_survives(p in pii(), ctx in context()) {
                let s = ctx.replace("{}", &p);
                let r = Redactor::shared();
                for out in [r.sql(&s), r.text(&s).into_owned(), r.message(&s).into_owned()] {
                    prop_assert!(!out.contains(&p), "{p:?} survived in {out:?}");
                }
            }

            #[test]
            fn redaction_is_idempotent(p in pii(), ctx in context(), noise in "[ -~]{0,40}") {
                let s = format!("{} {noise}", ctx.replace("{}", &p));
                let r = Redactor::shared();
                let once = r.sql(&s);
                prop_assert_eq!(r.sql(&once), once.clone());
                let t = r.text(&s).into_owned();
                prop_assert_eq!(r.text(&t).into_owned(), t.clone());
                let m = r.message(&s).into_owned();
                prop_assert_eq!(r.message(&m).into_owned(), m.clone());
            }
        }
    }
}
