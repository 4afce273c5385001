//! Small borrowed deserializers for the shapes Spark writes: string maps, number maps and
//! accumulator values that may be numbers, strings or lists. None of them builds a
//! `serde_json::Value` tree; unused parts are skipped with `IgnoredAny`.

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, Deserialize, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

/// A string that borrows from the input when it has no escapes.
pub(crate) struct CowStr<'a>(pub(crate) Cow<'a, str>);

impl<'de> Deserialize<'de> for CowStr<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = CowStr<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(CowStr(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(CowStr(Cow::Owned(v.to_owned())))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
                Ok(CowStr(Cow::Owned(v)))
            }
        }
        d.deserialize_str(V)
    }
}

/// `deserialize_with` helper: an optional string that borrows when it can (serde's own
/// `Option<Cow<str>>` always allocates). JSON `null` is `None`.
pub(crate) fn opt_cow<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Cow<'de, str>>, D::Error> {
    Ok(Option::<CowStr<'de>>::deserialize(d)?.map(|s| s.0))
}

/// A JSON scalar rendered as a string (Spark property values are strings; be lenient with
/// numbers, booleans and null, and skip nested values as empty).
struct LenientStr<'a>(Cow<'a, str>);

impl<'de> Deserialize<'de> for LenientStr<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = LenientStr<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string or scalar")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(LenientStr(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(LenientStr(Cow::Owned(v.to_owned())))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
                Ok(LenientStr(Cow::Owned(v)))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
                Ok(LenientStr(Cow::Owned(v.to_string())))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
                Ok(LenientStr(Cow::Owned(v.to_string())))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
                Ok(LenientStr(Cow::Owned(v.to_string())))
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
                Ok(LenientStr(Cow::Owned(v.to_string())))
            }
            fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(LenientStr(Cow::Borrowed("")))
            }
            fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(LenientStr(Cow::Borrowed("")))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(LenientStr(Cow::Borrowed("")))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(LenientStr(Cow::Borrowed("")))
            }
        }
        d.deserialize_any(V)
    }
}

/// An ordered string → string map (Spark properties, environment sections, plan metadata).
///
/// Spark writes these as JSON objects; a list of `[key, value]` pairs is accepted as well.
/// Order and duplicates are kept as written.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StrMap<'a>(pub Vec<(Cow<'a, str>, Cow<'a, str>)>);

impl<'a> StrMap<'a> {
    /// The value of the first entry named `key`.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_ref())
    }
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(k, v)| (k.as_ref(), v.as_ref()))
    }
    pub fn len(&self) -> usize {
        self.0.len()
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for StrMap<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = StrMap<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an object of strings or a list of [key, value] pairs")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut out = Vec::with_capacity(map.size_hint().unwrap_or(0));
                while let Some((k, v)) = map.next_entry::<CowStr<'de>, LenientStr<'de>>()? {
                    out.push((k.0, v.0));
                }
                Ok(StrMap(out))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let mut out = Vec::new();
                while let Some((k, v)) = seq.next_element::<(CowStr<'de>, LenientStr<'de>)>()? {
                    out.push((k.0, v.0));
                }
                Ok(StrMap(out))
            }
            fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(StrMap::default())
            }
        }
        d.deserialize_any(V)
    }
}

/// An ordered name → number map (executor metrics). Non-numeric values are skipped.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NumMap<'a>(pub Vec<(Cow<'a, str>, i64)>);

impl NumMap<'_> {
    pub fn get(&self, key: &str) -> Option<i64> {
        self.0.iter().find(|(k, _)| k == key).map(|(_, v)| *v)
    }
    pub fn iter(&self) -> impl Iterator<Item = (&str, i64)> {
        self.0.iter().map(|(k, v)| (k.as_ref(), *v))
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for NumMap<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = NumMap<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an object of numbers")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut out = Vec::with_capacity(map.size_hint().unwrap_or(0));
                while let Some((k, v)) = map.next_entry::<CowStr<'de>, AccumValue<'de>>()? {
                    if let Some(n) = v.as_i64() {
                        out.push((k.0, n));
                    }
                }
                Ok(NumMap(out))
            }
            fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(NumMap::default())
            }
        }
        d.deserialize_any(V)
    }
}

/// An accumulator's `Update` or `Value`: Spark writes numbers for task metrics, strings for
/// SQL metrics (`"827"`), and lists of block statuses for `updatedBlockStatuses` (skipped).
#[derive(Debug, Clone, PartialEq)]
pub enum AccumValue<'a> {
    Int(i64),
    Float(f64),
    Bool(bool),
    Str(Cow<'a, str>),
    /// A list or object (e.g. updated block statuses); not kept.
    Other,
}

impl AccumValue<'_> {
    /// The value as an integer: integers as is, floats truncated, strings parsed.
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            AccumValue::Int(n) => Some(*n),
            // Truncation is the intended meaning for a float-valued accumulator.
            #[allow(clippy::cast_possible_truncation)]
            AccumValue::Float(f) if f.is_finite() => Some(*f as i64),
            AccumValue::Str(s) => s.trim().parse().ok(),
            _ => None,
        }
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for AccumValue<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = AccumValue<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an accumulator value")
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
                Ok(AccumValue::Int(v))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
                Ok(match i64::try_from(v) {
                    Ok(n) => AccumValue::Int(n),
                    #[allow(clippy::cast_precision_loss)]
                    Err(_) => AccumValue::Float(v as f64),
                })
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
                Ok(AccumValue::Float(v))
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
                Ok(AccumValue::Bool(v))
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(AccumValue::Str(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(AccumValue::Str(Cow::Owned(v.to_owned())))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
                Ok(AccumValue::Str(Cow::Owned(v)))
            }
            fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(AccumValue::Other)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(AccumValue::Other)
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(AccumValue::Other)
            }
        }
        d.deserialize_any(V)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn str_map_from_object_or_pairs_borrows() {
        let m: StrMap<'_> =
            serde_json::from_str(r#"{"a":"1","b":2,"c":null,"d":{"x":1}}"#).unwrap();
        assert_eq!(m.get("a"), Some("1"));
        assert_eq!(m.get("b"), Some("2"));
        assert_eq!(m.get("c"), Some(""));
        assert_eq!(m.len(), 4);
        assert!(matches!(m.0[0].1, Cow::Borrowed(_)));
        let p: StrMap<'_> = serde_json::from_str(r#"[["k","v"],["k2","v2"]]"#).unwrap();
        assert_eq!(p.get("k2"), Some("v2"));
    }

    #[test]
    fn accum_values() {
        let v: Vec<AccumValue<'_>> =
            serde_json::from_str(r#"[5, "827", 1.5, true, [{"Block ID":"rdd_1_0"}], {"a":1}]"#)
                .unwrap();
        assert_eq!(v[0].as_i64(), Some(5));
        assert_eq!(v[1].as_i64(), Some(827));
        assert_eq!(v[2].as_i64(), Some(1));
        assert_eq!(v[3].as_i64(), None);
        assert_eq!(v[4], AccumValue::Other);
        assert_eq!(v[5], AccumValue::Other);
    }

    #[test]
    fn num_map_skips_non_numbers() {
        let m: NumMap<'_> =
            serde_json::from_str(r#"{"JVMHeapMemory":100,"Odd":"x","MinorGCCount":"7"}"#).unwrap();
        assert_eq!(m.get("JVMHeapMemory"), Some(100));
        assert_eq!(m.get("Odd"), None);
        assert_eq!(m.get("MinorGCCount"), Some(7));
    }
}
