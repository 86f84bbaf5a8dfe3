//! Whether a rejected alert may be about staff. Staff alerts are for the DSL's eyes (and those the config
//! names) only, and a rejected alert's raw JSON is its content, so the question decides who may see it.
//!
//! It fails closed. A rejected alert failed validation, so none of its fields can be trusted to be what they
//! say; it counts as not about staff only when it certainly is not:
//! - its raw text is one JSON object, read whole;
//! - it has a `subject` (every one, when the key is sent more than once) that is an object with a `kind`
//!   (every one) that is exactly `student` or `unknown`, the protocol's kinds that are not staff: `staff`
//!   with a zero-width space or a NUL, fullwidth `ｓｔａｆｆ`, `teacher` or anything else is not certain;
//! - and no string in it, key or value, anywhere, reads as `staff` once case, width, spaces, controls and
//!   invisible characters are set aside.

use serde::de::{DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};

/// The protocol's `subject.kind` values that are not staff.
const NOT_STAFF_KINDS: &[&str] = &["student", "unknown"];

/// True unless the rejected alert's raw JSON is certainly not about staff (see the module's rules).
pub fn may_be_staff(raw: &str) -> bool {
    !has_only_non_staff_subjects(raw) || says_staff_anywhere(raw)
}

/// Every `subject.kind` is exactly a non-staff kind, and there is at least one.
fn has_only_non_staff_subjects(raw: &str) -> bool {
    let mut de = serde_json::Deserializer::from_str(raw);
    serde::Deserializer::deserialize_any(&mut de, TopLevel).and_then(|ok| de.end().map(|()| ok)).unwrap_or(false)
}

/// Some string in it, key or value, reads as `staff`; text that cannot be walked whole counts as saying it.
fn says_staff_anywhere(raw: &str) -> bool {
    let mut de = serde_json::Deserializer::from_str(raw);
    StaffWalk.deserialize(&mut de).and_then(|staff| de.end().map(|()| staff)).unwrap_or(true)
}

/// `s` reads as `staff` to a person: letters and digits only (fullwidth folded to ASCII), any case.
fn reads_as_staff(s: &str) -> bool {
    let mut folded = String::with_capacity(5);
    for c in s.chars() {
        // Fullwidth ASCII (U+FF01..U+FF5E) is ASCII shifted by 0xFEE0.
        let c = match c as u32 {
            0xFF01..=0xFF5E => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
            _ => c,
        };
        if c.is_alphanumeric() {
            folded.extend(c.to_lowercase());
            if folded.len() > 5 {
                return false;
            }
        }
    }
    folded == "staff"
}

/// The alert object: every `subject` must pass [`Subject`], and there must be one.
struct TopLevel;

impl<'de> Visitor<'de> for TopLevel {
    type Value = bool;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("an alert object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<bool, A::Error> {
        let (mut seen, mut ok) = (false, true);
        while let Some(key) = map.next_key::<String>()? {
            if key == "subject" {
                seen = true;
                ok &= map.next_value_seed(Subject)?;
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(seen && ok)
    }
}

/// A `subject`: an object whose every `kind` is exactly a non-staff kind, with at least one `kind`.
struct Subject;

impl<'de> DeserializeSeed<'de> for Subject {
    type Value = bool;

    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<bool, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Subject {
    type Value = bool;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a subject")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<bool, A::Error> {
        let (mut seen, mut ok) = (false, true);
        while let Some(key) = map.next_key::<String>()? {
            if key == "kind" {
                seen = true;
                let kind: serde_json::Value = map.next_value()?;
                ok &= kind.as_str().is_some_and(|k| NOT_STAFF_KINDS.contains(&k));
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(seen && ok)
    }

    // Anything but an object is not a subject vigil can be sure of.
    fn visit_bool<E: serde::de::Error>(self, _: bool) -> Result<bool, E> {
        Ok(false)
    }
    fn visit_i64<E: serde::de::Error>(self, _: i64) -> Result<bool, E> {
        Ok(false)
    }
    fn visit_u64<E: serde::de::Error>(self, _: u64) -> Result<bool, E> {
        Ok(false)
    }
    fn visit_f64<E: serde::de::Error>(self, _: f64) -> Result<bool, E> {
        Ok(false)
    }
    fn visit_str<E: serde::de::Error>(self, _: &str) -> Result<bool, E> {
        Ok(false)
    }
    fn visit_unit<E: serde::de::Error>(self) -> Result<bool, E> {
        Ok(false)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<bool, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(false)
    }
}

/// A walk over any JSON value that answers whether some string in it reads as `staff`. Walked as it is
/// read, so a key sent twice has both of its values looked at (a parsed value would keep only the last).
struct StaffWalk;

impl<'de> DeserializeSeed<'de> for StaffWalk {
    type Value = bool;

    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<bool, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for StaffWalk {
    type Value = bool;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_str<E: serde::de::Error>(self, s: &str) -> Result<bool, E> {
        Ok(reads_as_staff(s))
    }
    fn visit_bool<E: serde::de::Error>(self, _: bool) -> Result<bool, E> {
        Ok(false)
    }
    fn visit_i64<E: serde::de::Error>(self, _: i64) -> Result<bool, E> {
        Ok(false)
    }
    fn visit_u64<E: serde::de::Error>(self, _: u64) -> Result<bool, E> {
        Ok(false)
    }
    fn visit_f64<E: serde::de::Error>(self, _: f64) -> Result<bool, E> {
        Ok(false)
    }
    fn visit_unit<E: serde::de::Error>(self) -> Result<bool, E> {
        Ok(false)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<bool, A::Error> {
        // Every element is walked (not stopped at the first `staff`), so the whole text must be JSON.
        let mut staff = false;
        while let Some(s) = seq.next_element_seed(StaffWalk)? {
            staff |= s;
        }
        Ok(staff)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<bool, A::Error> {
        // Every entry in the order sent, a repeated key included.
        let mut staff = false;
        while let Some(k) = map.next_key_seed(StaffWalk)? {
            staff |= k;
            staff |= map.next_value_seed(StaffWalk)?;
        }
        Ok(staff)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_kind(kind: serde_json::Value) -> String {
        serde_json::json!({"id": "A", "source": "s", "subject": {"kind": kind, "id": "S1", "name": "Mr Named"},
            "summary": "x", "risk": 9})
        .to_string()
    }

    #[test]
    fn only_an_exact_non_staff_kind_is_not_staff() {
        for kind in ["student", "unknown"] {
            assert!(!may_be_staff(&with_kind(kind.into())), "{kind}");
        }
        for kind in [
            "staff",
            "Staff",
            "staff\u{200b}",
            "staff\u{0}",
            "ｓｔａｆｆ",
            "teacher",
            "Student",
            " student",
            "student\u{200b}",
            "",
        ] {
            assert!(may_be_staff(&with_kind(kind.into())), "{kind:?}");
        }
        for kind in [serde_json::json!(null), serde_json::json!(1), serde_json::json!(["student"])] {
            assert!(may_be_staff(&with_kind(kind.clone())), "{kind}");
        }
    }

    #[test]
    fn a_missing_odd_or_repeated_subject_is_not_certain() {
        assert!(may_be_staff(r#"{"id":"A","summary":"x"}"#), "no subject");
        assert!(may_be_staff(r#"{"subject":{"id":"S"}}"#), "no kind");
        assert!(may_be_staff(r#"{"subject":"student"}"#));
        assert!(may_be_staff(r#"{"subject":{"kind":"student","kind":"staff"}}"#));
        assert!(may_be_staff(r#"{"subject":{"kind":"student"},"subject":{"kind":"teacher"}}"#));
        assert!(may_be_staff(r#"{"subject\u200b":{"kind":"student"}}"#));
        assert!(may_be_staff("not json"), "unreadable");
        assert!(may_be_staff(r#"{"subject":{"kind":"student"}} trailing"#));
        assert!(may_be_staff(r#"["subject",{"kind":"student"}]"#));
    }

    #[test]
    fn a_string_that_reads_as_staff_anywhere_is_staff() {
        for tag in ["staff", " Staff", "s\u{200b}taff", "ＳＴＡＦＦ", "staff\u{0}"] {
            let raw = serde_json::json!({"subject": {"kind": "student"}, "tags": [tag]}).to_string();
            assert!(may_be_staff(&raw), "{tag:?}");
        }
        assert!(!may_be_staff(r#"{"subject":{"kind":"student"},"tags":["staffroom"]}"#));
    }
}
